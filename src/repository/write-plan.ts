import type { AttributeValue, CancellationReason, ConditionCheck, TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { alreadyExists, auditConflict, entityNotFound, notVersioned, staleVersion, versionNotFound, writeContention, type VersionSource, type VersoError } from '../errors.js'
import { ownFields, type Model } from '../models/define.js'
import { formatTimestamp, newEntityId, nextVersionStamp, ZERO_ID, type Entity } from '../models/entity.js'
import { buildEvent, outboxItem, shardOf, type ChangeAction } from '../outbox/event.js'
import { fromItem, storedFields, toItem, type Item } from '../storage/item-mapping.js'
import { modelTables, outboxTable } from '../storage/table-names.js'
import { applyMergePatch } from './merge-patch.js'

/**
 * Write planning: what one write puts into its TransactWriteItems, and what a cancellation of it means. Pure:
 * it is given the items read before (the write commits on condition that they are still current) and sends
 * nothing; write-commit.ts sends what is planned here.
 */

/** Where the items go and what the change events carry. */
export interface PlanSettings {
  tablePrefix: string
  outboxShards: number
  eventSource: string
}

export interface PlanOptions {
  /** `changed_by_id` of the new version: the caller's id, the zero id when anonymous. */
  actor?: string
  /** W3C traceparent of the request, carried by the change event (CloudEvents `traceparent` extension). */
  traceparent?: string
}

/** The versions a write may be based on (If-Match may list several), and where the client named them. */
export interface ExpectedVersions {
  versions: readonly string[]
  source: VersionSource
}

export type Validate = (fields: Entity) => void

/** A change to an existing entity: what its next state is made from. */
export type Change =
  | { kind: 'replace', fields: Entity }
  | { kind: 'patch', patch: Entity, validate: Validate }
  | { kind: 'delete' }
  | { kind: 'restore', version: string }

/** The items a change is based on, as read: the current one (undefined when absent) and, for a restore, the past version's audit item. */
export interface StoredState {
  current: Item | undefined
  past?: Item | undefined
}

/** What a condition check asserts about an entity: that `version` is current, or that it exists (and is not soft-deleted) or not. */
export type Expectation = { version: string } | { exists: boolean }

/** The cancellation code of each item of a transaction, in the order given; undefined where it was fine. */
export type Reasons = ReadonlyArray<CancellationReason | undefined>
export const codeOf = (reasons: Reasons, i: number): string | undefined => reasons[i]?.Code

/** Why a planned write was cancelled: known from the reasons alone, or only once its item is read again. */
export type Refusal = { error: VersoError } | { reread: (current: Item | undefined) => VersoError }

/**
 * One entity's share of a transaction, built before anything is written: its items, the state they leave (for
 * a check, the current one), the outbox shard of its event, and what a cancellation means for it, given the
 * reasons of its own items.
 */
export interface PlannedWrite<S = Entity> {
  state: S
  items: TransactWriteItem[]
  /** The outbox shard its change event goes to; undefined for a check, which has no event. */
  shard: number | undefined
  /** Its item in the main table, read again when a refusal depends on what is current now. */
  key: { table: string, id: string }
  refusal: (reasons: Reasons) => Refusal | undefined
}

/** DynamoDB's limits: actions and aggregate item size of one TransactWriteItems, size of one item. */
export const MAX_TRANSACTION_ACTIONS = 100
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
export const MAX_ITEM_BYTES = 400 * 1024

const ACTION: Record<Change['kind'], ChangeAction> = { replace: 'updated', patch: 'updated', delete: 'deleted', restore: 'restored' }
const ENTITY_EXISTS = { ConditionExpression: 'attribute_exists(#id)', ExpressionAttributeNames: { '#id': 'entity_id' } }
const ENTITY_ABSENT = { ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': 'entity_id' } }
const refused = (failed: boolean, error: () => VersoError): Refusal | undefined => failed ? { error: error() } : undefined

/** The first version's Put (a client-supplied id must be new) and its event. */
export function planCreate (settings: PlanSettings, model: Model, fields: Entity, options: PlanOptions & { entityId?: string } = {}): PlannedWrite {
  const id = options.entityId ?? newEntityId()
  const state: Entity = model.versioned
    ? { ...storedFields(fields), entity_id: id, ...nextVersionStamp(), previous_version: ZERO_ID, active: true, changed_by_id: options.actor ?? ZERO_ID }
    : { ...storedFields(fields), entity_id: id }
  const table = modelTables(settings.tablePrefix, model).main
  const event = eventPut(settings, model, 'created', state, options.traceparent)
  return {
    state,
    items: [{ Put: { TableName: table, Item: toItem(model, state), ...ENTITY_ABSENT } }, event.item],
    shard: event.shard,
    key: { table, id },
    refusal: (reasons) => refused(codeOf(reasons, 0) === 'ConditionalCheckFailed', () => alreadyExists(model.name, id))
  }
}

/**
 * The items of a change to the entity read as `stored`, after its precondition is checked (a stale version is
 * thrown as 412 or 409, by `expected.source`). Versioned (docs/architecture.md, "One write"):
 * 1. Put of the current item, exactly as stored, into the audit table (`attribute_not_exists`);
 * 2. Put of the new version into the main table on condition `version = :read_version`;
 * 3. Put of the change event into the outbox.
 * Not versioned (Rococo's BaseModel): the item overwritten, or deleted, and the event; no audit, no lock.
 */
export function planChange (settings: PlanSettings, model: Model, id: string, stored: StoredState, change: Change, options: PlanOptions & { expected?: ExpectedVersions }): PlannedWrite {
  if (!model.versioned) return planUnversioned(settings, model, id, stored.current, change, options)
  const { main, audit } = modelTables(settings.tablePrefix, model)
  const action = ACTION[change.kind]
  const item = stored.current
  const current = item === undefined ? undefined : fromItem(model, item)
  if (item === undefined || current === undefined || (current.active === false && action !== 'restored')) {
    throw entityNotFound(model.name, id)
  }
  if (typeof current.version !== 'string') throw new Error(`${model.name} ${id} is stored without a version: not a versioned item`)
  const readVersion = current.version
  // A change inside a transaction names its version in the body: a stale one is a 409 there.
  const source = options.expected?.source ?? 'body'
  if (options.expected?.versions.includes(readVersion) !== true) throw staleVersion(source, readVersion)

  const { fields, untouched, from = item } = nextFields(model, id, change, current, stored)
  const next: Entity = {
    ...storedFields(fields),
    entity_id: id,
    ...nextVersionStamp(typeof current.changed_on === 'string' ? current.changed_on : undefined),
    previous_version: readVersion,
    active: action !== 'deleted',
    changed_by_id: options.actor ?? ZERO_ID
  }
  // Fields carried over keep their stored attribute values exactly (a number with more digits than a
  // double holds is not rounded by a write that did not touch it).
  const nextItem = toItem(model, next)
  for (const key of untouched) {
    const value = from[key]
    if (value !== undefined) nextItem[key] = value
  }
  const event = eventPut(settings, model, action, next, options.traceparent)
  return {
    state: next,
    items: [
      { Put: { TableName: audit, Item: item, ConditionExpression: 'attribute_not_exists(#version)', ExpressionAttributeNames: { '#version': 'version' } } },
      {
        Put: {
          TableName: main,
          Item: nextItem,
          ConditionExpression: '#version = :read_version',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':read_version': { S: readVersion } }
        }
      },
      event.item
    ],
    shard: event.shard,
    key: { table: main, id },
    refusal: (reasons) => {
      if (codeOf(reasons, 1) === 'ConditionalCheckFailed') return { reread: (now) => staleVersion(source, now?.version?.S) }
      return refused(codeOf(reasons, 0) === 'ConditionalCheckFailed', () => auditConflict(model.name, id, readVersion))
    }
  }
}

/**
 * The fields of a new version, and which of them are carried over unchanged, attribute for attribute, from
 * `from` (the stored current item unless said otherwise).
 */
interface NextFields { fields: Entity, untouched: readonly string[], from?: Item }

/** The fields of the next version, from the current one (and, for a restore, the past one). */
function nextFields (model: Model, id: string, change: Change, current: Entity, stored: StoredState): NextFields {
  switch (change.kind) {
    case 'replace': return { fields: change.fields, untouched: [] }
    case 'patch': return merge(model, current, change.patch, change.validate)
    case 'delete': {
      const fields = ownFields(current)
      return { fields, untouched: Object.keys(fields) }
    }
    case 'restore': {
      const target = current.version === change.version ? stored.current : stored.past
      if (target === undefined) throw versionNotFound(model.name, id, change.version)
      const fields = ownFields(fromItem(model, target))
      return { fields, untouched: Object.keys(fields), from: target }
    }
  }
}

/**
 * A merge patch on the current fields. The merged fields are validated, except attributes the stored item
 * has but the model does not declare (another writer's): those are carried through untouched.
 */
function merge (model: Model, current: Entity, patch: Entity, validate: Validate): NextFields {
  const base = ownFields(current)
  const merged = applyMergePatch(base, patch) as Entity
  const checked = { ...merged }
  if (!model.allowExtra) {
    for (const key of Object.keys(checked)) {
      if (!Object.hasOwn(model.schema.properties, key) && !Object.hasOwn(patch, key)) delete checked[key]
    }
  }
  validate(checked)
  return { fields: merged, untouched: Object.keys(base).filter((key) => !Object.hasOwn(patch, key)) }
}

/** Non-versioned changes: replace creates when absent; patch and delete need the item. Last writer wins. */
function planUnversioned (settings: PlanSettings, model: Model, id: string, stored: Item | undefined, change: Change, options: PlanOptions): PlannedWrite {
  if (change.kind === 'restore') throw notVersioned(model.name)
  if (change.kind === 'replace') return planOverwrite(settings, model, { ...change.fields, entity_id: id }, stored === undefined ? 'created' : 'updated', options.traceparent)
  if (stored === undefined) throw entityNotFound(model.name, id)
  const current = fromItem(model, stored)
  if (change.kind === 'delete') {
    const table = modelTables(settings.tablePrefix, model).main
    const event = eventPut(settings, model, 'deleted', current, options.traceparent)
    return {
      state: current,
      items: [{ Delete: { TableName: table, Key: { entity_id: { S: id } }, ...ENTITY_EXISTS } }, event.item],
      shard: event.shard,
      key: { table, id },
      refusal: (reasons) => refused(codeOf(reasons, 0) === 'ConditionalCheckFailed', () => entityNotFound(model.name, id))
    }
  }
  const { fields } = merge(model, current, change.patch, change.validate)
  return planOverwrite(settings, model, { ...fields, entity_id: id }, 'updated', options.traceparent)
}

/** A non-versioned item written as it is: a creation only where none exists, an update over whatever does. */
export function planOverwrite (settings: PlanSettings, model: Model, fields: Entity, action: 'created' | 'updated', traceparent?: string): PlannedWrite {
  const state = storedFields(fields)
  const created = action === 'created'
  const table = modelTables(settings.tablePrefix, model).main
  const id = String(state.entity_id)
  const event = eventPut(settings, model, action, state, traceparent)
  return {
    state,
    items: [{ Put: { TableName: table, Item: toItem(model, state), ...(created ? ENTITY_ABSENT : {}) } }, event.item],
    shard: event.shard,
    key: { table, id },
    refusal: (reasons) => refused(created && codeOf(reasons, 0) === 'ConditionalCheckFailed', () => alreadyExists(model.name, id))
  }
}

/** Whether `stored` (as read; undefined when absent) meets `expect`: undefined when it does, else why not. */
export function checkVerdict (model: Model, id: string, expect: Expectation, stored: Item | undefined): VersoError | undefined {
  const current = stored === undefined ? undefined : fromItem(model, stored)
  const live = current !== undefined && current.active !== false
  if ('version' in expect) {
    if (current === undefined) return entityNotFound(model.name, id)
    // The version of a check is in the transaction's body: a stale one is a 409.
    return current.version === expect.version ? undefined : staleVersion('body', typeof current.version === 'string' ? current.version : undefined)
  }
  if (expect.exists) return live ? undefined : entityNotFound(model.name, id)
  return live ? alreadyExists(model.name, id) : undefined
}

/**
 * A ConditionCheck of `expect` on the entity `stored` (as read; undefined when absent): refused at once when
 * the read already contradicts it, and checked again by DynamoDB when the transaction commits.
 */
export function planCheck (settings: PlanSettings, model: Model, id: string, stored: Item | undefined, expect: Expectation): PlannedWrite<Entity | undefined> {
  const verdict = checkVerdict(model, id, expect, stored)
  if (verdict !== undefined) throw verdict
  let condition: Pick<ConditionCheck, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>
  if ('version' in expect) {
    condition = { ConditionExpression: '#version = :version', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':version': { S: expect.version } } }
  } else if (!model.versioned) {
    condition = expect.exists ? ENTITY_EXISTS : ENTITY_ABSENT
  } else {
    condition = {
      ConditionExpression: expect.exists ? 'attribute_exists(#id) AND (attribute_not_exists(#active) OR #active <> :false)' : 'attribute_not_exists(#id) OR #active = :false',
      ExpressionAttributeNames: { '#id': 'entity_id', '#active': 'active' },
      ExpressionAttributeValues: { ':false': { BOOL: false } }
    }
  }
  const table = modelTables(settings.tablePrefix, model).main
  return {
    state: stored === undefined ? undefined : fromItem(model, stored),
    items: [{ ConditionCheck: { TableName: table, Key: { entity_id: { S: id } }, ...condition } }],
    shard: undefined,
    key: { table, id },
    // Cancelled although the read met it: what is current now says why, or another writer was in between.
    refusal: (reasons) => codeOf(reasons, 0) === 'ConditionalCheckFailed' ? { reread: (now) => checkVerdict(model, id, expect, now) ?? writeContention() } : undefined
  }
}

/** The change event's Put into the outbox, and the shard it goes to. */
function eventPut (settings: PlanSettings, model: Model, action: ChangeAction, state: Entity, traceparent?: string): { item: TransactWriteItem, shard: number } {
  const time = typeof state.changed_on === 'string' ? state.changed_on : formatTimestamp(Date.now() * 1000)
  const event = buildEvent(model.path, action, state, time, settings.eventSource, traceparent)
  return {
    item: { Put: { TableName: outboxTable(settings.tablePrefix), Item: outboxItem(event, settings.outboxShards), ConditionExpression: 'attribute_not_exists(sk)' } },
    shard: shardOf(event.subject, settings.outboxShards)
  }
}

/** The TransactItems of planned writes committed together, then any items of their own (an idempotency claim). */
export function transactItems (writes: ReadonlyArray<PlannedWrite<unknown>>, extra: readonly TransactWriteItem[] = []): TransactWriteItem[] {
  return [...writes.flatMap((w) => w.items), ...extra]
}

/** DynamoDB's size of the items a planned write puts or checks. */
export const writeBytes = (write: PlannedWrite<unknown>): number => write.items.reduce((n, item) => n + actionBytes(item), 0)

/** DynamoDB's size of the item an action writes or checks: attribute names plus values, as DynamoDB counts them. */
export function actionBytes (action: TransactWriteItem): number {
  const item = action.Put?.Item ?? action.Delete?.Key ?? action.ConditionCheck?.Key ?? action.Update?.Key ?? {}
  return itemBytes(item)
}

function itemBytes (item: Item): number {
  let n = 0
  for (const [name, value] of Object.entries(item)) n += Buffer.byteLength(name) + valueBytes(value)
  return n
}

function valueBytes (value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S)
  if (value.N !== undefined) return Math.ceil(value.N.length / 2) + 1
  if (value.B !== undefined) return value.B.byteLength
  if (value.L !== undefined) return 3 + value.L.reduce((n, v) => n + 1 + valueBytes(v), 0)
  if (value.M !== undefined) return 3 + itemBytes(value.M) + Object.keys(value.M).length
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + Buffer.byteLength(s), 0)
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0)
  return 1
}
