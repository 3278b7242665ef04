/**
 * The invariant checker of the chaos scenarios on hand-made tables: it passes a sound history and catches each
 * kind of damage (a broken chain, a shared parent, a lost acknowledged write, a committed rejected write, a
 * missing or foreign event, events out of order), so a green chaos run means something.
 */
import t from 'tap'
import { checkInvariants, type Snapshot } from '../../chaos/invariants.js'
import { Ledger, type Outcome } from '../../chaos/harness.js'
import { ZERO_ID } from '../../src/models/entity.js'

const ID = 'e'.repeat(32)
const v = (n: number): string => String(n).padStart(32, '0')
const version = (n: number, previous = n === 0 ? ZERO_ID : v(n - 1)): Record<string, unknown> =>
  ({ entity_id: ID, version: v(n), previous_version: previous, first_name: 'chaos', last_name: `m${n}`, metadata: { count: n } })
const event = (n: number): Record<string, unknown> => ({ id: `ev${n}`, subject: ID, sequence: String(n).padStart(17, '0'), data: { version: v(n) } })

/** Three versions (create, two updates), each acknowledged unless `outcomes` says otherwise. */
function history (outcomes: Record<number, Outcome> = {}): { state: Snapshot, ledger: Ledger, events: Array<Record<string, unknown>> } {
  const ledger = new Ledger('m')
  ledger.entityIds.push(ID)
  for (const n of [0, 1, 2]) {
    const outcome = outcomes[n] ?? 'ok'
    ledger.writes.push({ entityId: ID, marker: `m${n}`, count: n, outcome, status: outcome === 'ok' ? (n === 0 ? 201 : 200) : outcome === 'rejected' ? 412 : 0, ...(outcome === 'ok' ? { version: v(n) } : {}), at: n })
  }
  return { state: { main: [version(2)], audit: [version(0), version(1)], outbox: [], dead: 0 }, ledger, events: [event(0), event(1), event(2)] }
}

const failed = (verdicts: ReturnType<typeof checkInvariants>): string[] => verdicts.filter((x) => !x.ok).map((x) => x.invariant)

t.test('a sound history passes every invariant, with redelivered duplicates', async (t) => {
  const { state, ledger, events } = history()
  const verdicts = checkInvariants(state, ledger, [...events, events[1]!])
  t.same(failed(verdicts), [])
  t.equal(verdicts.length, 10)
})

t.test('without a broker the outbox holds the events', async (t) => {
  const { state, ledger, events } = history()
  t.same(failed(checkInvariants({ ...state, outbox: events }, ledger, undefined)), [])
  t.match(failed(checkInvariants({ ...state, outbox: events.slice(0, 2) }, ledger, undefined)), [/^events = committed versions/])
})

t.test('a write with no answer counts once it committed, whole', async (t) => {
  const { state, ledger, events } = history({ 2: 'unknown' })
  const verdicts = checkInvariants(state, ledger, events)
  t.same(failed(verdicts), [])
  t.match(verdicts.find((x) => x.invariant.startsWith('audit items'))?.detail, /1 updates answered 200 \+ 1 unanswered/)
})

t.test('damage is caught', async (t) => {
  const cases: Array<{ name: string, damage: (h: ReturnType<typeof history>) => void, expect: RegExp[] }> = [
    { name: 'audit copy missing', damage: (h) => { h.state.audit.shift() }, expect: [/^version chain/, /^audit items/, /^every acknowledged write/, /counter/, /^events = /] },
    { name: 'main item without its predecessor', damage: (h) => { h.state.audit.pop() }, expect: [/^version chain/, /^no main item/, /^audit items/, /^every acknowledged write/, /counter/, /^events = /] },
    { name: 'two versions on one parent', damage: (h) => { h.state.audit.push({ ...version(1), version: v(9), last_name: 'm1' }) }, expect: [/^version chain/, /^no two versions/, /^audit items/, /^events = /] },
    { name: 'acknowledged write lost', damage: (h) => { h.ledger.writes.push({ entityId: ID, marker: 'm3', count: 3, outcome: 'ok', status: 200, version: v(3), at: 3 }) }, expect: [/^audit items/, /^every acknowledged write/] },
    { name: 'rejected write committed', damage: (h) => { h.ledger.writes[2]!.outcome = 'rejected'; delete h.ledger.writes[2]!.version }, expect: [/^audit items/, /^every acknowledged write/, /^final state/] },
    { name: 'update lost in between', damage: (h) => { (h.state.main[0]!.metadata as { count: number }).count = 1; h.ledger.writes[2]!.count = 1 }, expect: [/counter/] },
    { name: 'event missing', damage: (h) => { h.events.splice(1, 1) }, expect: [/^events = /] },
    { name: 'event for no version', damage: (h) => { h.events.push({ ...event(7), data: { version: v(7) } }) }, expect: [/^events = /] },
    { name: 'events out of order', damage: (h) => { h.events.reverse() }, expect: [/order/] },
    { name: 'outbox left over', damage: (h) => { h.state.outbox.push(event(2)); h.state.dead = 1 }, expect: [/^outbox drained/] }
  ]
  for (const c of cases) {
    const h = history()
    c.damage(h)
    const names = failed(checkInvariants(h.state, h.ledger, h.events))
    t.equal(names.length, c.expect.length, `${c.name}: ${names.join(' | ')}`)
    for (const e of c.expect) t.ok(names.some((n) => e.test(n)), `${c.name}: ${String(e)}`)
  }
})
