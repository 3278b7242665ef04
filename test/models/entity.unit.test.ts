import t from 'tap'
import { formatTimestamp, isId, newEntityId, newVersion, nextChangedOn, nextVersionStamp, parseTimestampMicros, ZERO_ID } from '../../src/models/entity.js'

t.test('timestamps as Python isoformat() writes them', async (t) => {
  t.equal(formatTimestamp(Date.UTC(2026, 10, 26, 23, 51, 48, 540) * 1000), '2026-11-26T23:51:48.540000+00:00')
  t.equal(formatTimestamp(Date.UTC(2026, 0, 1) * 1000), '2026-01-01T00:00:00+00:00', 'no fraction when microseconds are zero, like Python')
  t.equal(formatTimestamp(Date.UTC(2026, 0, 1) * 1000 + 7), '2026-01-01T00:00:00.000007+00:00')
  t.equal(parseTimestampMicros('2026-11-26T23:51:48.540123+00:00'), Date.UTC(2026, 10, 26, 23, 51, 48, 540) * 1000 + 123)
  t.equal(parseTimestampMicros('2026-11-26T23:51:48+00:00'), Date.UTC(2026, 10, 26, 23, 51, 48) * 1000)
  t.equal(parseTimestampMicros('2026-11-27T01:51:48.5+02:00'), Date.UTC(2026, 10, 26, 23, 51, 48, 500) * 1000, 'offsets are honoured')
  t.equal(parseTimestampMicros('2026-11-26T23:51:48Z'), Date.UTC(2026, 10, 26, 23, 51, 48) * 1000)
  t.equal(parseTimestampMicros('2026-11-26 23:51:48.540123+00:00'), Date.UTC(2026, 10, 26, 23, 51, 48, 540) * 1000 + 123, 'str(datetime) with a space')
  t.equal(parseTimestampMicros('2026-11-26T23:51:48.540123+0000'), Date.UTC(2026, 10, 26, 23, 51, 48, 540) * 1000 + 123, "PynamoDB's UTCDateTimeAttribute")
  t.equal(parseTimestampMicros('yesterday'), undefined)
  for (const micros of [0, 1, 999_999, 1_000_000, 1795738747512345]) {
    t.equal(parseTimestampMicros(formatTimestamp(micros)), micros, `round trip ${micros}`)
  }
})

t.test('changed_on is strictly after its predecessor, even when the clock is behind', async (t) => {
  const now = Date.UTC(2026, 10, 26, 12, 0, 0, 0)
  t.equal(nextChangedOn(undefined, now), '2026-11-26T12:00:00+00:00')
  t.equal(nextChangedOn('2026-11-26T11:00:00+00:00', now), '2026-11-26T12:00:00+00:00', 'clock ahead: now')
  t.equal(nextChangedOn('2026-11-26T12:00:00+00:00', now), '2026-11-26T12:00:00.001000+00:00', 'same instant: +1 ms')
  t.equal(nextChangedOn('2026-11-26T13:00:00.123456+00:00', now), '2026-11-26T13:00:00.124456+00:00', 'predecessor in the future (skew): predecessor + 1 ms, microseconds kept')
  let previous: string | undefined
  for (let i = 0; i < 100; i++) {
    const next = nextChangedOn(previous, now)
    if (previous !== undefined) t.ok(parseTimestampMicros(next)! > parseTimestampMicros(previous)!)
    previous = next
  }
})

t.test('ids', async (t) => {
  t.ok(isId(newEntityId()))
  t.ok(isId(newVersion()))
  t.ok(isId(ZERO_ID))
  t.notOk(isId('A'.repeat(32)), 'upper case is not an id')
  t.notOk(isId(`${ZERO_ID}0`))
  t.notOk(isId(42))
  const versions = Array.from({ length: 50 }, () => newVersion())
  t.same([...versions].sort(), versions, 'UUIDv7 versions sort in creation order')
})

t.test('versions of one entity sort in chain order even when the clock goes backwards', async (t) => {
  let previous: { version: string, changed_on: string } | undefined
  const start = Date.UTC(2026, 10, 26, 12, 0, 0)
  for (let i = 0; i < 50; i++) {
    // the clock jumps back a second every step
    const next = nextVersionStamp(previous?.changed_on, start - i * 1000)
    t.ok(isId(next.version))
    if (previous !== undefined) t.ok(next.version > previous.version, `version ${i} sorts after its predecessor`)
    previous = next
  }
})
