/**
 * The promises of verso, checked against what is really stored (main, `_audit`, `verso_outbox`,
 * `verso_outbox_dead`) and what the broker delivered, given the outcome of every write the scenario made.
 * A write with no answer (or a 5xx) may or may not have committed: whichever it did, it must be whole —
 * version, audit copy of its predecessor and event all present, or none of them.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { ZERO_ID } from '../src/models/entity.js'
import { Person } from '../src/models/person.js'
import { fromItem } from '../src/storage/item-mapping.js'
import type { Entity } from '../src/models/entity.js'
import { deadLetterTable, modelTables, outboxTable } from '../src/storage/table-names.js'
import { scanAll } from '../src/storage/scan.js'
import { drain, type Ledger, type World, type WriteRecord } from './harness.js'
import type { Verdict } from './scenario.js'

export interface Snapshot {
  main: Entity[]
  audit: Entity[]
  /** Events still pending, oldest first per shard. */
  outbox: Array<Record<string, any>>
  dead: number
}

export async function snapshot (client: DynamoDBClient, prefix: string): Promise<Snapshot> {
  const tables = modelTables(prefix, Person)
  const [main, audit, outbox, dead] = await Promise.all([
    scanAll(client, tables.main), scanAll(client, tables.audit), scanAll(client, outboxTable(prefix)), scanAll(client, deadLetterTable(prefix))
  ])
  const pending = outbox
    .sort((a, b) => Number(a.shard?.N) - Number(b.shard?.N) || String(a.sk?.S).localeCompare(String(b.sk?.S)))
    .map((item) => JSON.parse(String(item.event?.S)) as Record<string, any>)
  return { main: main.map((i) => fromItem(Person, i)), audit: audit.map((i) => fromItem(Person, i)), outbox: pending, dead: dead.length }
}

/** Committed versions: every main item and every audit item. */
export const versionCount = (s: Snapshot): number => s.main.length + s.audit.length

/** At most this many counter-examples in a verdict's detail. */
const SHOWN = 3
const verdict = (invariant: string, failures: string[], detail: string): Verdict =>
  ({ invariant, ok: failures.length === 0, detail: failures.length === 0 ? detail : `${failures.length} violation(s): ${failures.slice(0, SHOWN).join('; ')}` })

const short = (id: unknown): string => String(id).slice(0, 8)

interface Chain {
  /** Oldest first: the create, then each update, the main item last. */
  versions: Entity[]
  broken?: string
}

/** Walks an entity's versions from the main item back to the zero id through the audit table. */
function walk (head: Entity, audit: Map<string, Entity>): Chain {
  const versions = [head]
  const seen = new Set([String(head.version)])
  for (let at = head; at.previous_version !== ZERO_ID;) {
    const previous = audit.get(String(at.previous_version))
    if (previous === undefined) return { versions: versions.reverse(), broken: `${short(head.entity_id)}: predecessor ${short(at.previous_version)} of ${short(at.version)} is not in the audit table` }
    if (seen.has(String(previous.version))) return { versions: versions.reverse(), broken: `${short(head.entity_id)}: the chain loops at ${short(previous.version)}` }
    seen.add(String(previous.version))
    versions.push(previous)
    at = previous
  }
  return { versions: versions.reverse() }
}

/**
 * Every invariant of the write path and of event delivery. `events` are the events the broker delivered, in
 * arrival order; undefined when the scenario ran without a broker (the events are then the outbox's).
 */
export function checkInvariants (state: Snapshot, ledger: Ledger, events: ReadonlyArray<Record<string, any>> | undefined): Verdict[] {
  const byMarker = new Map<string, WriteRecord>(ledger.writes.map((w) => [w.marker, w]))
  const auditByEntity = new Map<string, Map<string, Entity>>()
  for (const item of state.audit) {
    const versions = auditByEntity.get(String(item.entity_id)) ?? new Map<string, Entity>()
    versions.set(String(item.version), item)
    auditByEntity.set(String(item.entity_id), versions)
  }
  const all = [...state.main, ...state.audit]
  const versionKey = (e: Entity): string => `${String(e.entity_id)}/${String(e.version)}`
  const stored = new Map(all.map((e) => [versionKey(e), e]))
  const chains = new Map<string, Chain>(state.main.map((head) => [String(head.entity_id), walk(head, auditByEntity.get(String(head.entity_id)) ?? new Map())]))
  const position = new Map<string, number>()
  for (const chain of chains.values()) chain.versions.forEach((v, i) => position.set(versionKey(v), i))

  // 1. chain
  const chainFailures = [...chains.values()].flatMap((c) => c.broken === undefined ? [] : [c.broken])
  for (const missing of ledger.entityIds.filter((id) => !chains.has(id))) chainFailures.push(`${short(missing)}: created, but no main item`)
  const orphans = state.audit.filter((a) => !position.has(versionKey(a)))
  for (const o of orphans) chainFailures.push(`${short(o.entity_id)}: audit version ${short(o.version)} is on no chain from the main item`)
  const longest = Math.max(0, ...[...chains.values()].map((c) => c.versions.length))
  const chainVerdict = verdict('version chain unbroken from the zero id to the current version', chainFailures,
    `${chains.size} entities, ${all.length} versions, longest chain ${longest}`)

  // 2. shared parents
  const parents = new Map<string, number>()
  for (const e of all) {
    const key = `${String(e.entity_id)}/${String(e.previous_version)}`
    parents.set(key, (parents.get(key) ?? 0) + 1)
  }
  const shared = [...parents.entries()].filter(([, n]) => n > 1).map(([key, n]) => `${n} versions replace ${key.split('/').map(short).join('/')}`)
  const parentVerdict = verdict('no two versions share a parent', shared, `${parents.size} parents, each replaced once`)

  // 3. main item's predecessor in audit
  const unaudited = state.main.filter((m) => m.previous_version !== ZERO_ID && auditByEntity.get(String(m.entity_id))?.has(String(m.previous_version)) !== true)
    .map((m) => `${short(m.entity_id)}: ${short(m.previous_version)} missing`)
  const mainVerdict = verdict('no main item whose predecessor is missing from audit', unaudited, `${state.main.length} main items checked`)

  // 4-5. what was committed against what was answered
  const writerOf = (e: Entity): WriteRecord | undefined => byMarker.get(String(e.last_name))
  const commitFailures: string[] = []
  const committedUnknown = { creates: 0, updates: 0 }
  for (const e of all) {
    const w = writerOf(e)
    if (w === undefined) commitFailures.push(`${short(e.entity_id)}/${short(e.version)} was written by no write of this run`)
    else if (w.outcome === 'rejected') commitFailures.push(`${short(e.entity_id)}/${short(e.version)} committed, but its write was answered ${w.status}`)
    else if (w.outcome === 'unknown') committedUnknown[e.previous_version === ZERO_ID ? 'creates' : 'updates']++
  }
  for (const w of ledger.writes.filter((x) => x.outcome === 'ok')) {
    const e = stored.get(`${w.entityId}/${String(w.version)}`)
    if (e === undefined) commitFailures.push(`${short(w.entityId)}/${short(w.version)} was answered ${w.status} but is not stored (lost update)`)
    else if (e.last_name !== w.marker) commitFailures.push(`${short(w.entityId)}/${short(w.version)} holds another write's fields`)
  }
  const acked = ledger.writes.filter((w) => w.outcome === 'ok')
  const ackedUpdates = acked.filter((w) => w.status === 200).length
  const unknown = ledger.writes.filter((w) => w.outcome === 'unknown').length
  const writesVerdict = verdict('every acknowledged write is stored, no rejected write is (no lost update)', commitFailures,
    `${acked.length} acknowledged, ${ledger.writes.filter((w) => w.outcome === 'rejected').length} rejected (412/409/…), ${unknown} unanswered of which ${committedUnknown.updates + committedUnknown.creates} committed whole`)
  const expectedAudit = ackedUpdates + committedUnknown.updates
  const auditVerdict = verdict('audit items = successful updates', state.audit.length === expectedAudit ? [] : [`${state.audit.length} audit items, ${expectedAudit} successful updates`],
    `${state.audit.length} audit items = ${ackedUpdates} updates answered 200 + ${committedUnknown.updates} unanswered updates that committed`)

  // 6. read-modify-write: every version counts one more than the one it replaced
  const counterFailures: string[] = []
  for (const chain of chains.values()) {
    chain.versions.forEach((v, i) => {
      const count = Number((v.metadata as { count?: unknown } | undefined)?.count)
      if (count !== i) counterFailures.push(`${short(v.entity_id)}: version ${i} of the chain counts ${count}`)
    })
  }
  const counterVerdict = verdict("each version's counter = its predecessor's + 1 (no update lost in between)", counterFailures, `${chains.size} counters, total ${[...chains.values()].reduce((n, c) => n + c.versions.length - 1, 0)}`)

  // 7. final state
  const finalFailures: string[] = []
  let lateUnknown = 0
  for (const [id, chain] of chains) {
    const head = chain.versions.at(-1)
    const ackedHere = acked.filter((w) => w.entityId === id).map((w) => position.get(`${id}/${String(w.version)}`) ?? -1)
    const last = Math.max(-1, ...ackedHere)
    const after = chain.versions.slice(last + 1)
    if (after.some((v) => writerOf(v)?.outcome !== 'unknown')) finalFailures.push(`${short(id)}: the current version is not the last acknowledged write nor an unanswered later one`)
    else if (after.length > 0) lateUnknown++
    const writer = head === undefined ? undefined : writerOf(head)
    if (head !== undefined && (head.first_name !== 'chaos' || (head.metadata as { count?: unknown } | undefined)?.count !== writer?.count)) finalFailures.push(`${short(id)}: current fields differ from what its write sent`)
  }
  const finalVerdict = verdict('final state = last successful write', finalFailures,
    `${chains.size} entities: current version = last acknowledged write${lateUnknown === 0 ? '' : ` (on ${lateUnknown}, a later unanswered write that committed)`}`)

  // 8-9. events
  const delivered = events ?? state.outbox
  const distinct = new Map<string, Record<string, any>>()
  for (const event of delivered) if (!distinct.has(String(event.id))) distinct.set(String(event.id), event)
  const eventFailures: string[] = []
  const eventOf = new Map<string, string>()
  for (const event of distinct.values()) {
    const key = `${String(event.subject)}/${String(event.data?.version)}`
    if (!stored.has(key)) eventFailures.push(`event ${short(event.id)} announces ${key.split('/').map(short).join('/')}, which is not stored`)
    if (eventOf.has(key)) eventFailures.push(`two events for ${key.split('/').map(short).join('/')}`)
    eventOf.set(key, String(event.id))
  }
  const pending = events === undefined ? 0 : state.outbox.length
  for (const key of stored.keys()) if (!eventOf.has(key)) eventFailures.push(`no event${events === undefined ? ' in the outbox' : ' delivered'} for ${key.split('/').map(short).join('/')}${pending > 0 ? ` (${pending} still pending)` : ''}`)
  const duplicates = delivered.length - distinct.size
  const eventVerdict = verdict('events = committed versions (none without its version, none missing)', eventFailures,
    `${distinct.size} distinct events for ${stored.size} versions${events === undefined ? ' (in the outbox: no broker)' : `, ${duplicates} redelivered duplicate(s)`}`)

  const orderFailures: string[] = []
  const lastSeen = new Map<string, { position: number, sequence: string }>()
  for (const event of distinct.values()) {
    const id = String(event.subject)
    const at = position.get(`${id}/${String(event.data?.version)}`)
    if (at === undefined) continue
    const before = lastSeen.get(id)
    if (before !== undefined && (at <= before.position || String(event.sequence) <= before.sequence)) {
      orderFailures.push(`${short(id)}: version ${at} of the chain arrived after version ${before.position}`)
    }
    lastSeen.set(id, { position: at, sequence: String(event.sequence) })
  }
  const orderVerdict = verdict('per-entity event order kept (first deliveries follow the chain and `sequence`)', orderFailures, `${lastSeen.size} entities in order`)

  const verdicts = [chainVerdict, parentVerdict, mainVerdict, auditVerdict, writesVerdict, counterVerdict, finalVerdict, eventVerdict, orderVerdict]
  if (events !== undefined) {
    const left = [...(state.outbox.length > 0 ? [`${state.outbox.length} events still in the outbox`] : []), ...(state.dead > 0 ? [`${state.dead} events dead-lettered`] : [])]
    verdicts.push(verdict('outbox drained, nothing dead-lettered', left, 'outbox empty, dead-letter table empty'))
  }
  return verdicts
}

/**
 * A verdict on the answers themselves: nothing but what the scenario expects. A request with no answer at all is
 * expected only when it was in flight while the service was down (`downtimes`: from the kill until it served
 * again, ms since the epoch); anywhere else it is a violation.
 */
export function answersVerdict (ledger: Ledger, options: { downtimes?: ReadonlyArray<readonly [number, number]> } = {}): Verdict {
  const downtimes = options.downtimes ?? []
  const seen = [...ledger.unexpected.entries()].map(([status, n]) => `${n}× ${status}`)
  const whileDown = ledger.noAnswers.filter((r) => downtimes.some(([down, up]) => r.from <= up && r.to >= down))
  const otherwise = ledger.noAnswers.filter((r) => !whileDown.includes(r))
  if (otherwise.length > 0) seen.push(`${otherwise.length}× no answer while the service was up (${otherwise.slice(0, 3).map((r) => r.error).join(', ')})`)
  return verdict(`only expected answers (200/201, 409/412 conflicts, 503${options.downtimes === undefined ? '' : '; no answer only to requests in flight while the service was down'})`, seen,
    `${ledger.writes.length} writes${whileDown.length > 0 ? `, ${whileDown.length} requests cut off while the service was down` : ''}, no other answer`)
}

/**
 * The end of a scenario: reads the tables, waits (with a broker) until the relay has delivered an event for
 * every committed version or `drainMs` passed, and checks every invariant.
 */
export async function settle (world: World, ledger: Ledger, drainMs: number): Promise<Verdict[]> {
  let state = await snapshot(world.client, world.prefix)
  if (world.consumer === undefined) return checkInvariants(state, ledger, undefined)
  await drain(world, versionCount(state), drainMs)
  state = await snapshot(world.client, world.prefix)
  return checkInvariants(state, ledger, world.consumer.received.map((r) => r.event))
}
