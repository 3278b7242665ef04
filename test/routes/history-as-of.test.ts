import t from 'tap'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Person } from '../../src/models/person.js'
import { formatTimestamp, parseTimestampMicros, ZERO_ID } from '../../src/models/entity.js'
import { setup, json, etag } from '../support/helper.js'
import { assertProblem, createPerson, newId } from './support.js'

// GET /{model}/{id}?as_of=<RFC 3339 time>: the version that was current at that instant (docs/history.md).

type Entity = Record<string, any>

const MS = 1000
const micros = (changedOn: unknown): number => {
  const value = parseTimestampMicros(String(changedOn))
  if (value === undefined) throw new Error(`not a timestamp: ${String(changedOn)}`)
  return value
}
/** Python-isoformat text of changed_on shifted by some microseconds. */
const shifted = (changedOn: unknown, deltaMicros: number): string => formatTimestamp(micros(changedOn) + deltaMicros)
/** The same instant with another UTC offset, e.g. +05:30 or -08:00. */
const withOffset = (us: number, sign: 1 | -1, hours: number, minutes: number): string => {
  const offset = sign * (hours * 60 + minutes) * 60_000_000
  const hh = String(hours).padStart(2, '0')
  const mm = String(minutes).padStart(2, '0')
  return formatTimestamp(us + offset).replace('+00:00', `${sign > 0 ? '+' : '-'}${hh}:${mm}`)
}
/** Nine fraction digits and Z. */
const withNanos = (us: number, nanos: string): string =>
  `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}${nanos}Z`

/** The version current at `us`, from the list of versions (oldest first): the last one changed at or before it. */
const currentAt = (versions: Entity[], us: number): Entity | undefined =>
  [...versions].reverse().find((v) => micros(v.changed_on) <= us)

async function asOf (app: FastifyInstance, id: string, when: string, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url: `/person/${id}`, query: { as_of: when, ...extra } })
}

async function write (app: FastifyInstance, last: Entity, i: number): Promise<Entity> {
  const url = `/person/${String(last.entity_id)}`
  const res = i % 3 === 0
    ? await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(last.version) }, payload: { age: i, metadata: { step: i } } })
    : await app.inject({ method: 'PUT', url, headers: { 'if-match': etag(last.version) }, payload: { first_name: `Ada ${i}`, last_name: 'Lovelace', age: i } })
  if (res.statusCode !== 200) throw new Error(`write ${i} failed: ${res.statusCode} ${res.body}`)
  return json(res)
}

t.test('as_of at, just before and just after every version answers the version current then', async (t) => {
  const { app } = await setup(t)
  const versions: Entity[] = [await createPerson(app, { age: 0 })]
  for (let i = 1; i < 8; i++) {
    if (i === 4) await new Promise((resolve) => setTimeout(resolve, 5)) // one gap wider than a millisecond
    versions.push(await write(app, versions[versions.length - 1]!, i))
  }
  const id = String(versions[0]!.entity_id)

  for (const [i, version] of versions.entries()) {
    const us = micros(version.changed_on)
    const probes: Array<[string, number]> = [
      ['at changed_on', 0],
      ['1 µs before', -1],
      ['1 ms before', -MS],
      ['1 µs after', 1],
      ['1 ms after', MS],
      ['2 ms after', 2 * MS]
    ]
    for (const [name, delta] of probes) {
      const when = us + delta
      const expected = currentAt(versions, when)
      const res = await asOf(app, id, formatTimestamp(when))
      const label = `version ${i}, ${name} (${formatTimestamp(when)})`
      if (expected === undefined) {
        assertProblem(t, res, 404, { code: 'VERSO_ENTITY_NOT_FOUND', instance: `/person/${id}` })
        continue
      }
      t.equal(res.statusCode, 200, `${label}: 200`)
      t.same(json(res), expected, `${label}: version ${versions.indexOf(expected)}`)
      t.equal(res.headers.etag, etag(expected.version), `${label}: ETag of that version`)
    }
    // The exact instant must answer this very version; 1 µs earlier the one before it.
    t.equal(json(await asOf(app, id, String(version.changed_on))).version, version.version, `as_of = changed_on of version ${i} (as stored) is version ${i}`)
    if (i > 0) t.equal(json(await asOf(app, id, shifted(version.changed_on, -1))).version, versions[i - 1]!.version, `1 µs before version ${i} is version ${i - 1}`)
  }

  assertProblem(t, await asOf(app, id, shifted(versions[0]!.changed_on, -1)), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  assertProblem(t, await asOf(app, id, '2001-01-01T00:00:00+00:00'), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  assertProblem(t, await asOf(app, id, '1970-01-01T00:00:00Z'), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  const future = await asOf(app, id, '2999-12-31T23:59:59.999999+00:00')
  t.same(json(future), versions[versions.length - 1], 'far in the future: the current version')
  const current = json(await app.inject({ method: 'GET', url: `/person/${id}` }))
  t.same(current, versions[versions.length - 1], 'without as_of: the current version')
})

t.test('as_of accepts any RFC 3339 writing of the instant', async (t) => {
  const { app } = await setup(t)
  const versions: Entity[] = [await createPerson(app)]
  for (let i = 1; i < 4; i++) versions.push(await write(app, versions[versions.length - 1]!, i))
  const id = String(versions[0]!.entity_id)
  for (const [i, version] of versions.entries()) {
    const us = micros(version.changed_on)
    const forms: Array<[string, string, Entity | undefined]> = [
      ['Z with milliseconds', new Date(us / 1000).toISOString(), version],
      ['lower-case z', new Date(us / 1000).toISOString().replace('Z', 'z'), version],
      ['+05:30', withOffset(us, 1, 5, 30), version],
      ['-08:00', withOffset(us, -1, 8, 0), version],
      ['+05:30, 1 µs before', withOffset(us - 1, 1, 5, 30), versions[i - 1]],
      ['nanoseconds, 999 ns after', withNanos(us, '999'), version],
      ['nanoseconds, 1 ns before', withNanos(us - 1, '999'), versions[i - 1]]
    ]
    for (const [name, when, expected] of forms) {
      const res = await asOf(app, id, when)
      if (expected === undefined) {
        assertProblem(t, res, 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
      } else {
        t.equal(res.statusCode, 200, `version ${i}, ${name}: 200`)
        t.equal(json(res).version, expected.version, `version ${i}, ${name} (${when})`)
      }
    }
  }
})

t.test('as_of and soft deletes: 404 while deleted, the deleted state with include_deleted=true', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app, { age: 1 })
  const id = String(created.entity_id)
  const url = `/person/${id}`
  const updated = json(await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(created.version) }, payload: { age: 2 } }))
  const deleted = json(await app.inject({ method: 'DELETE', url, headers: { 'if-match': etag(updated.version) } }))
  t.equal(deleted.active, false)

  // Currently deleted.
  assertProblem(t, await asOf(app, id, String(deleted.changed_on)), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  assertProblem(t, await asOf(app, id, shifted(deleted.changed_on, 1)), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  assertProblem(t, await asOf(app, id, '2999-01-01T00:00:00Z'), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  for (const when of [String(deleted.changed_on), shifted(deleted.changed_on, 1), '2999-01-01T00:00:00Z']) {
    const res = await asOf(app, id, when, { include_deleted: 'true' })
    t.equal(res.statusCode, 200, `include_deleted=true at ${when}`)
    t.same(json(res), deleted, 'the deleted state')
    t.equal(res.headers.etag, etag(deleted.version))
  }
  // Before the delete the entity was alive: as_of shows it although it is deleted now.
  const before = await asOf(app, id, shifted(deleted.changed_on, -1))
  t.equal(before.statusCode, 200, 'before the delete: 200')
  t.same(json(before), updated)
  t.same(json(await asOf(app, id, String(created.changed_on))), created)
  t.same(json(await asOf(app, id, String(updated.changed_on), { include_deleted: 'true' })), updated, 'include_deleted=true changes nothing for a live state')
  assertProblem(t, await asOf(app, id, shifted(created.changed_on, -1), { include_deleted: 'true' }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })

  // Restored (undeleted): live again from the restore on, still deleted in between.
  const restored = json(await app.inject({ method: 'POST', url: `${url}/versions/${String(updated.version)}/restore`, headers: { 'if-match': etag(deleted.version) } }))
  t.equal(restored.active, true)
  t.same(json(await asOf(app, id, String(restored.changed_on))), restored, 'after the restore: the restored version')
  t.same(json(await asOf(app, id, '2999-01-01T00:00:00Z')), restored)
  assertProblem(t, await asOf(app, id, shifted(restored.changed_on, -1)), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  t.same(json(await asOf(app, id, shifted(restored.changed_on, -1), { include_deleted: 'true' })), deleted, 'between delete and restore: the deleted state')
  t.same(json(await asOf(app, id, shifted(deleted.changed_on, -1))), updated)
})

t.test('as_of with If-None-Match compares with the version of that instant', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const id = String(created.entity_id)
  const updated = json(await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(created.version) }, payload: { age: 3 } }))
  const past = await app.inject({ method: 'GET', url: `/person/${id}`, query: { as_of: String(created.changed_on) }, headers: { 'if-none-match': etag(created.version) } })
  t.equal(past.statusCode, 304, 'the tag of the version current then → 304')
  t.equal(past.headers.etag, etag(created.version))
  const other = await app.inject({ method: 'GET', url: `/person/${id}`, query: { as_of: String(created.changed_on) }, headers: { 'if-none-match': etag(updated.version) } })
  t.equal(other.statusCode, 200, 'the current tag does not match a past version')
  t.same(json(other), created)
})

t.test('as_of on an unknown entity is 404; an invalid as_of is 400', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const id = String(created.entity_id)
  const unknown = newId()
  assertProblem(t, await asOf(app, unknown, '2026-01-01T00:00:00Z'), 404, { code: 'VERSO_ENTITY_NOT_FOUND', instance: `/person/${unknown}` })
  assertProblem(t, await asOf(app, unknown, '2999-01-01T00:00:00Z', { include_deleted: 'true' }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })

  const invalid = [
    'yesterday',
    'now',
    '2026-13-01T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-11-31T00:00:00Z',
    '2026-11-26T24:00:01Z',
    '2026-11-26T23:60:00Z',
    '2026-11-26',
    '2026-11-26T23:51:48',
    '2026-11-26T23:51:48.540000',
    '23:51:48Z',
    '1764201108',
    '2026-11-26T23:51:48.Z',
    '2026-11-26T23:51:48+25:00',
    ''
  ]
  for (const value of invalid) {
    const res = await asOf(app, id, value)
    t.equal(res.statusCode, 400, `as_of=${JSON.stringify(value)} → 400`)
    const problem = assertProblem(t, res, 400)
    t.match(JSON.stringify(problem), 'as_of', `as_of=${JSON.stringify(value)}: the problem names as_of`)
  }
  const twice = await app.inject({ method: 'GET', url: `/person/${id}?as_of=2026-01-01T00:00:00Z&as_of=2026-01-02T00:00:00Z` })
  assertProblem(t, twice, 400)
  assertProblem(t, await app.inject({ method: 'GET', url: `/person/${id}`, query: { as_of: '2026-01-01T00:00:00Z', include_deleted: 'maybe' } }), 400, { paths: ['/querystring/include_deleted'] })
  assertProblem(t, await app.inject({ method: 'GET', url: `/person/${id}`, query: { asof: '2026-01-01T00:00:00Z' } }), 400, { paths: ['/querystring/asof'] })
})

t.test('as_of in the years 0000–0099 is that year, not 1900–1999', async (t) => {
  const ctx = await setup(t)
  const id = newId()
  const version = newId()
  // An item another writer (Rococo, a migration) stored with a 1999 changed_on.
  await ctx.client.send(new PutItemCommand({
    TableName: ctx.tables(Person).main,
    Item: {
      entity_id: { S: id },
      version: { S: version },
      previous_version: { S: ZERO_ID },
      active: { BOOL: true },
      changed_by_id: { S: ZERO_ID },
      changed_on: { S: '1999-06-01T00:00:00+00:00' },
      first_name: { S: 'Old' },
      last_name: { S: 'Timer' }
    }
  }))
  t.equal(json(await asOf(ctx.app, id, '1999-06-02T00:00:00Z')).version, version, 'a day after: the version')
  assertProblem(t, await asOf(ctx.app, id, '1999-05-31T00:00:00Z'), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  const year99 = await asOf(ctx.app, id, '0099-06-02T00:00:00Z')
  t.equal(year99.statusCode, 404, 'as_of in the year 99: before the entity existed')
  if (year99.statusCode === 404) assertProblem(t, year99, 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  const early = await ctx.app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { to: '0099-12-31T00:00:00Z' } })
  t.same(json(early), { items: [], next_cursor: null }, 'nothing was changed in the year 99')
})
