import t from 'tap'
import { Type } from 'typebox'
import type { CancellationReason, TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import { VersoError } from '../../src/errors.js'
import { defineModel } from '../../src/models/define.js'
import { ZERO_ID, type Entity } from '../../src/models/entity.js'
import { Person } from '../../src/models/person.js'
import { shardOf } from '../../src/outbox/event.js'
import { toItem, type Item } from '../../src/storage/item-mapping.js'
import {
  MAX_TRANSACTION_ACTIONS, planChange, planCheck, planCreate, transactItems, writeBytes,
  type PlannedWrite, type Reasons, type Refusal
} from '../../src/repository/write-plan.js'

// Planning without DynamoDB: every test reads the items a plan would send and what it makes of a cancellation.
const settings = { tablePrefix: 't_', outboxShards: 8, eventSource: '/verso' }
const Setting = defineModel({ name: 'Setting', versioned: false, schema: Type.Object({ value: Type.String() }), example: { value: 'v' } })

const ID = '0123456789abcdef0123456789abcdef'
const V1 = '0190a0b0c0d07000800000000000000a'
const V2 = '0190a0b0c0d07000800000000000000b'
const ACTOR = 'fedcba9876543210fedcba9876543210'
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

/** A stored Person item at `version`. */
function personItem (version: string, fields: Entity = { first_name: 'Ada', last_name: 'Lovelace', age: 36 }, extra: Entity = {}): Item {
  return toItem(Person, { ...fields, entity_id: ID, version, previous_version: ZERO_ID, changed_on: '2024-07-01T10:00:00.000000', changed_by_id: ZERO_ID, active: true, ...extra })
}

const put = (item: TransactWriteItem | undefined): NonNullable<TransactWriteItem['Put']> => {
  if (item?.Put === undefined) throw new Error('expected a Put')
  return item.Put
}
const eventOf = (item: TransactWriteItem | undefined): Entity => JSON.parse(String(put(item).Item?.event?.S)) as Entity
const failed = (code: string, message?: string): CancellationReason => ({ Code: code, ...(message === undefined ? {} : { Message: message }) })
const errorOf = (refusal: Refusal | undefined): VersoError => {
  if (refusal === undefined || !('error' in refusal)) throw new Error(`expected an error, got ${JSON.stringify(refusal)}`)
  return refusal.error
}
const rereadOf = (refusal: Refusal | undefined): (current: Item | undefined) => VersoError => {
  if (refusal === undefined || !('reread' in refusal)) throw new Error('expected a refusal that reads the item again')
  return refusal.reread
}
const thrown = (fn: () => unknown): VersoError => {
  try {
    fn()
  } catch (err) {
    if (err instanceof VersoError) return err
    throw err
  }
  throw new Error('expected a VersoError')
}
const plainState = (planned: PlannedWrite): Entity => planned.state

t.test('create: the first version, absent-only, with its event and its shard', async (t) => {
  const planned = planCreate(settings, Person, { first_name: 'Ada', last_name: 'Lovelace' }, { entityId: ID, actor: ACTOR, traceparent: TRACEPARENT })
  const state = plainState(planned)
  t.equal(state.entity_id, ID)
  t.equal(state.previous_version, ZERO_ID)
  t.equal(state.active, true)
  t.equal(state.changed_by_id, ACTOR)
  t.match(state.version, /^[0-9a-f]{32}$/)
  t.equal(planned.items.length, 2)
  const main = put(planned.items[0])
  t.equal(main.TableName, 't_person')
  t.equal(main.ConditionExpression, 'attribute_not_exists(#id)')
  t.same(main.ExpressionAttributeNames, { '#id': 'entity_id' })
  t.same(main.Item, toItem(Person, state))
  const outbox = put(planned.items[1])
  t.equal(outbox.TableName, 't_verso_outbox')
  t.equal(outbox.ConditionExpression, 'attribute_not_exists(sk)')
  t.equal(planned.shard, shardOf(ID, 8))
  t.equal(Number(outbox.Item?.shard?.N), planned.shard, 'the shard the plan announces is the one its event is stored in')
  const event = eventOf(planned.items[1])
  t.equal(event.type, 'verso.person.created')
  t.equal(event.source, '/verso/person')
  t.equal(event.subject, ID)
  t.equal(event.traceparent, TRACEPARENT)
  t.same(event.data, state)
  t.same(planned.key, { table: 't_person', id: ID })
  t.equal(errorOf(planned.refusal([failed('ConditionalCheckFailed'), undefined])).code, 'VERSO_ALREADY_EXISTS')
  t.equal(planned.refusal([undefined, failed('ConditionalCheckFailed')]), undefined, 'an outbox collision is not the entity\'s')
})

t.test('create: anonymous callers write the zero id; a new id is drawn when none is given', async (t) => {
  const planned = planCreate(settings, Person, { first_name: 'Ada', last_name: 'Lovelace' })
  t.equal(planned.state.changed_by_id, ZERO_ID)
  t.match(planned.state.entity_id, /^[0-9a-f]{32}$/)
  t.not(planned.state.entity_id, ID)
})

t.test('create, not versioned: the item without version fields', async (t) => {
  const planned = planCreate(settings, Setting, { value: 'x' }, { entityId: ID })
  t.same(planned.state, { value: 'x', entity_id: ID })
  t.same(unmarshall(put(planned.items[0]).Item ?? {}), { value: 'x', entity_id: ID })
})

t.test('replace: audit copy of the stored item, new version on condition of the read one, event', async (t) => {
  const stored = personItem(V1)
  const planned = planChange(settings, Person, ID, { current: stored }, { kind: 'replace', fields: { first_name: 'Grace', last_name: 'Hopper' } },
    { expected: { versions: [V1], source: 'if-match' }, actor: ACTOR })
  t.equal(planned.items.length, 3)
  const audit = put(planned.items[0])
  t.equal(audit.TableName, 't_person_audit')
  t.equal(audit.Item, stored, 'the audit copy is the stored item exactly')
  t.equal(audit.ConditionExpression, 'attribute_not_exists(#version)')
  const main = put(planned.items[1])
  t.equal(main.TableName, 't_person')
  t.equal(main.ConditionExpression, '#version = :read_version')
  t.same(main.ExpressionAttributeValues, { ':read_version': { S: V1 } })
  const state = plainState(planned)
  t.equal(state.first_name, 'Grace')
  t.equal(state.last_name, 'Hopper')
  t.notOk('age' in state, 'a replace drops the fields it does not send')
  t.equal(state.previous_version, V1)
  t.not(state.version, V1)
  t.equal(state.active, true)
  t.equal(state.changed_by_id, ACTOR)
  t.ok(String(state.changed_on) > '2024-07-01T10:00:00.000000', 'changed_on moves forward')
  t.equal(main.Item?.age, undefined)
  t.equal(eventOf(planned.items[2]).type, 'verso.person.updated')
  t.equal(planned.shard, shardOf(ID, 8))
})

t.test('patch: merged and validated; untouched attributes keep their stored values exactly', async (t) => {
  const stored = personItem(V1)
  stored.age = { N: '36.000000000000000000000000000000001' } // more digits than a double holds
  const validated: Entity[] = []
  const planned = planChange(settings, Person, ID, { current: stored }, { kind: 'patch', patch: { first_name: 'Augusta' }, validate: (fields) => { validated.push(fields) } },
    { expected: { versions: [V1], source: 'body' } })
  t.same(validated, [{ first_name: 'Augusta', last_name: 'Lovelace', age: 36 }])
  const main = put(planned.items[1])
  t.same(main.Item?.first_name, { S: 'Augusta' })
  t.same(main.Item?.age, { N: '36.000000000000000000000000000000001' })
})

t.test('patch: a validation error is thrown before anything is planned', async (t) => {
  const refusal = new VersoError('VERSO_VALIDATION_FAILED', 400, 'Request validation failed', 'no')
  const err = thrown(() => planChange(settings, Person, ID, { current: personItem(V1) }, { kind: 'patch', patch: { age: -1 }, validate: () => { throw refusal } },
    { expected: { versions: [V1], source: 'body' } }))
  t.equal(err, refusal)
})

t.test('delete: a new version, inactive, with the same fields', async (t) => {
  const planned = planChange(settings, Person, ID, { current: personItem(V1) }, { kind: 'delete' }, { expected: { versions: [V1], source: 'if-match' } })
  t.equal(planned.state.active, false)
  t.equal(planned.state.first_name, 'Ada')
  t.same(put(planned.items[1]).Item?.active, { BOOL: false })
  t.equal(eventOf(planned.items[2]).type, 'verso.person.deleted')
})

t.test('restore: the past version\'s fields, from its audit item; undeletes', async (t) => {
  const past = personItem(V1, { first_name: 'Ada', last_name: 'Byron', age: 17 })
  const current = personItem(V2, { first_name: 'Ada', last_name: 'Lovelace' }, { active: false, previous_version: V1 })
  const planned = planChange(settings, Person, ID, { current, past }, { kind: 'restore', version: V1 }, { expected: { versions: [V2], source: 'if-match' } })
  t.equal(planned.state.last_name, 'Byron')
  t.equal(planned.state.age, 17)
  t.equal(planned.state.active, true)
  t.equal(planned.state.previous_version, V2)
  t.equal(put(planned.items[0]).Item, current, 'the audit copy is of the current item')
  t.same(put(planned.items[1]).Item?.last_name, past.last_name)
  t.equal(eventOf(planned.items[2]).type, 'verso.person.restored')
})

t.test('restore: the current version needs no past item; an unknown one is 404', async (t) => {
  const current = personItem(V2)
  const same = planChange(settings, Person, ID, { current }, { kind: 'restore', version: V2 }, { expected: { versions: [V2], source: 'body' } })
  t.equal(same.state.last_name, 'Lovelace')
  const err = thrown(() => planChange(settings, Person, ID, { current }, { kind: 'restore', version: V1 }, { expected: { versions: [V2], source: 'body' } }))
  t.equal(err.code, 'VERSO_VERSION_NOT_FOUND')
  t.equal(err.statusCode, 404)
})

t.test('absent or soft-deleted entities are not found (a restore may undelete)', async (t) => {
  const expected = { versions: [V1], source: 'if-match' } as const
  t.equal(thrown(() => planChange(settings, Person, ID, { current: undefined }, { kind: 'delete' }, { expected })).code, 'VERSO_ENTITY_NOT_FOUND')
  const deleted = personItem(V1, undefined, { active: false })
  t.equal(thrown(() => planChange(settings, Person, ID, { current: deleted }, { kind: 'replace', fields: {} }, { expected })).code, 'VERSO_ENTITY_NOT_FOUND')
})

t.test('stale version at planning: 412 for If-Match, 409 for a body version, naming the current version', async (t) => {
  const change = { kind: 'replace', fields: { first_name: 'G', last_name: 'H' } } as const
  const ifMatch = thrown(() => planChange(settings, Person, ID, { current: personItem(V2) }, change, { expected: { versions: [V1], source: 'if-match' } }))
  t.match(ifMatch, { statusCode: 412, code: 'VERSO_PRECONDITION_FAILED', type: 'urn:verso:problem:precondition-failed', extra: { current_version: V2 } })
  t.equal(ifMatch.message, `If-Match does not match the current version (${V2}).`)
  const body = thrown(() => planChange(settings, Person, ID, { current: personItem(V2) }, change, { expected: { versions: [V1], source: 'body' } }))
  t.match(body, { statusCode: 409, code: 'VERSO_VERSION_CONFLICT', type: 'urn:verso:problem:version-conflict', extra: { current_version: V2 } })
  t.equal(body.message, `The version in the body is not the current version (${V2}).`)
  const none = thrown(() => planChange(settings, Person, ID, { current: personItem(V2) }, change, {}))
  t.equal(none.code, 'VERSO_VERSION_CONFLICT', 'without an expectation (a transaction\'s body) it is a 409')
  const listed = planChange(settings, Person, ID, { current: personItem(V2) }, change, { expected: { versions: [V1, V2], source: 'if-match' } })
  t.equal(listed.state.previous_version, V2, 'any of the listed versions may be current')
})

t.test('stale version at commit: read again, answered by the source; an audit collision is its own conflict', async (t) => {
  const change = { kind: 'delete' } as const
  const ifMatch = planChange(settings, Person, ID, { current: personItem(V1) }, change, { expected: { versions: [V1], source: 'if-match' } })
  const reread = rereadOf(ifMatch.refusal([undefined, failed('ConditionalCheckFailed'), undefined]))
  t.match(reread(personItem(V2)), { statusCode: 412, extra: { current_version: V2 } })
  t.match(reread(undefined), { statusCode: 412, message: 'If-Match does not match the current version.' })
  const body = planChange(settings, Person, ID, { current: personItem(V1) }, change, { expected: { versions: [V1], source: 'body' } })
  t.match(rereadOf(body.refusal([undefined, failed('ConditionalCheckFailed'), undefined]))(personItem(V2)), { statusCode: 409, code: 'VERSO_VERSION_CONFLICT', extra: { current_version: V2 } })
  t.match(errorOf(body.refusal([failed('ConditionalCheckFailed'), undefined, undefined])), { statusCode: 409, code: 'VERSO_AUDIT_CONFLICT' })
  t.equal(body.refusal([undefined, undefined, failed('ConditionalCheckFailed')]), undefined)
})

t.test('not versioned: replace creates when absent, overwrites when present; patch and delete need the item', async (t) => {
  const stored = toItem(Setting, { entity_id: ID, value: 'a' })
  const created = planChange(settings, Setting, ID, { current: undefined }, { kind: 'replace', fields: { value: 'b' } }, {})
  t.equal(put(created.items[0]).ConditionExpression, 'attribute_not_exists(#id)')
  t.equal(eventOf(created.items[1]).type, 'verso.setting.created')
  t.equal(errorOf(created.refusal([failed('ConditionalCheckFailed')])).code, 'VERSO_ALREADY_EXISTS')
  const replaced = planChange(settings, Setting, ID, { current: stored }, { kind: 'replace', fields: { value: 'b' } }, {})
  t.equal(put(replaced.items[0]).ConditionExpression, undefined, 'last writer wins')
  t.equal(eventOf(replaced.items[1]).type, 'verso.setting.updated')
  t.equal(replaced.refusal([failed('ConditionalCheckFailed')]), undefined)
  const patched = planChange(settings, Setting, ID, { current: stored }, { kind: 'patch', patch: { value: 'c' }, validate: () => {} }, {})
  t.same(patched.state, { value: 'c', entity_id: ID })
  const deleted = planChange(settings, Setting, ID, { current: stored }, { kind: 'delete' }, {})
  t.same(deleted.items[0]?.Delete, { TableName: 't_setting', Key: { entity_id: { S: ID } }, ConditionExpression: 'attribute_exists(#id)', ExpressionAttributeNames: { '#id': 'entity_id' } })
  t.equal(eventOf(deleted.items[1]).type, 'verso.setting.deleted')
  t.equal(errorOf(deleted.refusal([failed('ConditionalCheckFailed')])).code, 'VERSO_ENTITY_NOT_FOUND')
  t.equal(thrown(() => planChange(settings, Setting, ID, { current: undefined }, { kind: 'delete' }, {})).code, 'VERSO_ENTITY_NOT_FOUND')
  t.equal(thrown(() => planChange(settings, Setting, ID, { current: stored }, { kind: 'restore', version: V1 }, {})).code, 'VERSO_NOT_VERSIONED')
})

t.test('checks: refused at once when the read contradicts them, else a ConditionCheck without event', async (t) => {
  const version = planCheck(settings, Person, ID, personItem(V1), { version: V1 })
  t.same(version.items, [{ ConditionCheck: { TableName: 't_person', Key: { entity_id: { S: ID } }, ConditionExpression: '#version = :version', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':version': { S: V1 } } } }])
  t.equal(version.shard, undefined)
  t.equal(version.state?.version, V1)
  const stale = thrown(() => planCheck(settings, Person, ID, personItem(V2), { version: V1 }))
  t.match(stale, { statusCode: 409, code: 'VERSO_VERSION_CONFLICT', extra: { current_version: V2 } })
  t.equal(thrown(() => planCheck(settings, Person, ID, undefined, { version: V1 })).code, 'VERSO_ENTITY_NOT_FOUND')
  const exists = planCheck(settings, Person, ID, personItem(V1), { exists: true })
  t.equal(exists.items[0]?.ConditionCheck?.ConditionExpression, 'attribute_exists(#id) AND (attribute_not_exists(#active) OR #active <> :false)')
  const absent = planCheck(settings, Person, ID, personItem(V1, undefined, { active: false }), { exists: false })
  t.equal(absent.items[0]?.ConditionCheck?.ConditionExpression, 'attribute_not_exists(#id) OR #active = :false')
  t.equal(thrown(() => planCheck(settings, Person, ID, personItem(V1), { exists: false })).code, 'VERSO_ALREADY_EXISTS')
  t.equal(planCheck(settings, Setting, ID, undefined, { exists: false }).items[0]?.ConditionCheck?.ConditionExpression, 'attribute_not_exists(#id)')
  // Cancelled although the read met it: what is current now says why, else another writer was in between.
  const reread = rereadOf(version.refusal([failed('ConditionalCheckFailed')]))
  t.match(reread(personItem(V2)), { code: 'VERSO_VERSION_CONFLICT', extra: { current_version: V2 } })
  t.equal(reread(personItem(V1)).code, 'VERSO_WRITE_CONTENTION')
  t.equal(version.refusal([undefined] as Reasons), undefined)
})

t.test('transactItems: the writes\' items in order, then the extra ones; sizes as DynamoDB counts them', async (t) => {
  const a = planCreate(settings, Setting, { value: 'a' }, { entityId: ID })
  const b = planCheck(settings, Person, ID, personItem(V1), { exists: true })
  const claim: TransactWriteItem = { Put: { TableName: 't_verso_idempotency', Item: { pk: { S: 'k' } } } }
  t.same(transactItems([a, b], [claim]), [...a.items, ...b.items, claim])
  t.equal(writeBytes(b), Buffer.byteLength('entity_id') + 32)
  t.ok(writeBytes(a) > Buffer.byteLength('valueaentity_id') + 32)
  t.equal(MAX_TRANSACTION_ACTIONS, 100)
})
