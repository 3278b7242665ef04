import {
  GetItemCommand, ScanCommand, TransactionCanceledException, TransactWriteItemsCommand,
  type DynamoDBClient, type TransactWriteItem
} from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { setTimeout as sleep } from 'node:timers/promises'
import { alreadyExists, entityNotFound, writeContention, VersoError } from '../errors.js'
import { SERVER_MANAGED_FIELDS, type Model } from '../models/define.js'
import { formatTimestamp, newEntityId, nextVersionStamp, ZERO_ID } from '../models/meta.js'
import { buildEvent, outboxItem, type ChangeAction } from '../outbox/event.js'
import { mapStorageError } from '../storage/errors.js'
import { fromItem, toItem, type Entity, type Item } from '../storage/item-mapping.js'
import { modelTables, outboxTable } from '../storage/table-names.js'
import { applyMergePatch } from './merge-patch.js'

export interface RepositoryOptions {
  client: DynamoDBClient
  tablePrefix: string
  outboxShards: number
  eventSource: string
  /** Told the outbox shard of every committed event, so an in-process relay can publish it at once. */
  onEventCommitted?: (shard: number) => void
}

export interface WriteOptions {
  /** `changed_by_id` of the new version: the caller's id, the zero id when anonymous. */
  actor?: string
}

export interface VersionedWriteOptions extends WriteOptions {
  /** The versions the caller based the write on (If-Match may list several); the write happens only if one is current. */
  expected: readonly string[]
}

export interface ListOptions {
  /** Equality filters on declared scalar fields. */
  filters: Record<string, string | number | boolean>
  limit: number
  startKey?: Item
  includeDeleted: boolean
}

export interface Page {
  items: Entity[]
  /** Where the next page starts; absent on the last page. */
  lastKey?: Item
}

/** The precondition named versions that are no longer current. `current` is the version that is. */
export class StaleVersionError extends Error {
  constructor (readonly current: string | undefined) {
    super('stale version')
    this.name = 'StaleVersionError'
  }
}

/** The replaced version is already in the audit table although the main item still has it. */
export class AuditConflictError extends VersoError {
  constructor (model: string, id: string, version: string) {
    super('VERSO_AUDIT_CONFLICT', 409, 'Audit conflict',
      `The audit table already holds version ${version} of ${model} ${id}; nothing was written.`)
  }
}

type Validate = (fields: Entity) => void
type CancellationCode = string | undefined

const MAX_CONTENTION_ATTEMPTS = 4

const fieldsOf = (entity: Entity): Entity => {
  const fields = { ...entity }
  for (const key of SERVER_MANAGED_FIELDS) delete fields[key]
  return fields
}

/**
 * Versioned entities in DynamoDB, with Rococo's layout. Knows DynamoDB and nothing of HTTP.
 * Every write is one TransactWriteItems holding the new item, the audit copy of the replaced one
 * and the change event for the outbox: all of them are written, or none.
 */
export class EntityRepository {
  private readonly client: DynamoDBClient
  private readonly prefix: string
  private readonly shards: number
  private readonly source: string
  private readonly onEventCommitted: ((shard: number) => void) | undefined

  constructor (options: RepositoryOptions) {
    this.client = options.client
    this.prefix = options.tablePrefix
    this.shards = options.outboxShards
    this.source = options.eventSource
    this.onEventCommitted = options.onEventCommitted
  }

  /** Current state of an entity, soft-deleted ones included (the caller decides whether to show them). One GetItem. */
  async get (model: Model, id: string): Promise<Entity | undefined> {
    const item = await this.readItem(model, id)
    return item === undefined ? undefined : fromItem(model, item)
  }

  /** One Put of the first version (plus the outbox event). A client-supplied id that exists already is a conflict. */
  async create (model: Model, fields: Entity, options: WriteOptions & { entityId?: string } = {}): Promise<Entity> {
    const id = options.entityId ?? newEntityId()
    const state: Entity = model.versioned
      ? { ...fields, entity_id: id, ...nextVersionStamp(), previous_version: ZERO_ID, active: true, changed_by_id: options.actor ?? ZERO_ID }
      : { ...fields, entity_id: id }
    const reasons = await this.commit([
      { Put: { TableName: this.tables(model).main, Item: toItem(model, state), ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': 'entity_id' } } },
      this.eventPut(model, 'created', state)
    ])
    if (reasons !== undefined) {
      if (reasons[0] === 'ConditionalCheckFailed') throw alreadyExists(model.name, id)
      throw writeContention()
    }
    return state
  }

  /** Full replacement: a new version whose fields are exactly `fields`. */
  async replace (model: Model, id: string, fields: Entity, options: VersionedWriteOptions): Promise<Entity> {
    return await this.writeVersion(model, id, options, 'updated', () => fields)
  }

  /** RFC 7396 merge patch on the current fields; `validate` checks the merged result before anything is written. */
  async patch (model: Model, id: string, patch: Entity, options: VersionedWriteOptions & { validate: Validate }): Promise<Entity> {
    return await this.writeVersion(model, id, options, 'updated', (current) => {
      const merged = applyMergePatch(fieldsOf(current), patch) as Entity
      options.validate(merged)
      return merged
    })
  }

  /** Soft delete: a new version with `active = false` and the same fields. */
  async softDelete (model: Model, id: string, options: VersionedWriteOptions): Promise<Entity> {
    return await this.writeVersion(model, id, options, 'deleted', fieldsOf)
  }

  /**
   * The write path of every versioned change, DESIGN §2:
   * 1. consistent read of the current item (for the audit copy, the precondition and the merge);
   * 2. Put of that item, exactly as stored, into the audit table (`attribute_not_exists`);
   * 3. Put of the new version into the main table on condition `version = :read_version`;
   * 4. Put of the change event into the outbox;
   * 2–4 in one TransactWriteItems. Two round trips in all.
   */
  private async writeVersion (model: Model, id: string, options: VersionedWriteOptions, action: ChangeAction, build: (current: Entity) => Entity): Promise<Entity> {
    const { main, audit } = this.tables(model)
    const storedItem = await this.readItem(model, id)
    const current = storedItem === undefined ? undefined : fromItem(model, storedItem)
    if (storedItem === undefined || current === undefined || (current.active === false && action !== 'restored')) {
      throw entityNotFound(model.name, id)
    }
    const readVersion = String(current.version)
    if (!options.expected.includes(readVersion)) throw new StaleVersionError(readVersion)

    const next: Entity = {
      ...build(current),
      entity_id: id,
      ...nextVersionStamp(typeof current.changed_on === 'string' ? current.changed_on : undefined),
      previous_version: readVersion,
      active: action !== 'deleted',
      changed_by_id: options.actor ?? ZERO_ID
    }
    const reasons = await this.commit([
      { Put: { TableName: audit, Item: storedItem, ConditionExpression: 'attribute_not_exists(#version)', ExpressionAttributeNames: { '#version': 'version' } } },
      {
        Put: {
          TableName: main,
          Item: toItem(model, next),
          ConditionExpression: '#version = :read_version',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':read_version': { S: readVersion } }
        }
      },
      this.eventPut(model, action, next)
    ])
    if (reasons === undefined) return next
    const [auditReason, mainReason] = reasons
    if (mainReason === 'ConditionalCheckFailed') {
      const now = await this.readItem(model, id)
      throw new StaleVersionError(now?.version?.S)
    }
    if (auditReason === 'ConditionalCheckFailed') throw new AuditConflictError(model.name, id, readVersion)
    throw writeContention()
  }

  /** Non-versioned models (Rococo's BaseModel): the item is overwritten, no audit, no lock. Creates when absent. */
  async upsert (model: Model, id: string, fields: Entity): Promise<{ state: Entity, created: boolean }> {
    const existing = await this.readItem(model, id)
    return { state: await this.overwrite(model, { ...fields, entity_id: id }, existing === undefined ? 'created' : 'updated'), created: existing === undefined }
  }

  /** Non-versioned merge patch: read, merge, validate, overwrite. Last writer wins, as in Rococo's BaseModel. */
  async patchUnversioned (model: Model, id: string, patch: Entity, validate: Validate): Promise<Entity> {
    const current = await this.get(model, id)
    if (current === undefined) throw entityNotFound(model.name, id)
    const merged = applyMergePatch(fieldsOf(current), patch) as Entity
    validate(merged)
    return await this.overwrite(model, { ...merged, entity_id: id }, 'updated')
  }

  /** Non-versioned delete: the item is removed; the answer and the event carry its final state. */
  async hardDelete (model: Model, id: string): Promise<Entity> {
    const current = await this.get(model, id)
    if (current === undefined) throw entityNotFound(model.name, id)
    const reasons = await this.commit([
      { Delete: { TableName: this.tables(model).main, Key: { entity_id: { S: id } }, ConditionExpression: 'attribute_exists(#id)', ExpressionAttributeNames: { '#id': 'entity_id' } } },
      this.eventPut(model, 'deleted', current)
    ])
    if (reasons === undefined) return current
    if (reasons[0] === 'ConditionalCheckFailed') throw entityNotFound(model.name, id)
    throw writeContention()
  }

  /**
   * One page of a Scan with equality filters (one round trip). DynamoDB applies `Limit` before the filter,
   * so a page may hold fewer items than `limit` and still have a next page.
   */
  async list (model: Model, options: ListOptions): Promise<Page> {
    const names: Record<string, string> = {}
    const values: Record<string, unknown> = {}
    const conditions: string[] = []
    Object.entries(options.filters).forEach(([field, value], i) => {
      names[`#f${i}`] = field
      values[`:f${i}`] = value
      conditions.push(`#f${i} = :f${i}`)
    })
    if (model.versioned && !options.includeDeleted) {
      names['#active'] = 'active'
      values[':false'] = false
      conditions.push('(attribute_not_exists(#active) OR #active <> :false)')
    }
    const result = await this.guard(this.client.send(new ScanCommand({
      TableName: this.tables(model).main,
      Limit: options.limit,
      ExclusiveStartKey: options.startKey,
      ...(conditions.length === 0
        ? {}
        : { FilterExpression: conditions.join(' AND '), ExpressionAttributeNames: names, ExpressionAttributeValues: marshall(values) })
    })))
    return {
      items: (result.Items ?? []).map((item) => fromItem(model, item)),
      ...(result.LastEvaluatedKey === undefined ? {} : { lastKey: result.LastEvaluatedKey })
    }
  }

  private async overwrite (model: Model, state: Entity, action: ChangeAction): Promise<Entity> {
    const reasons = await this.commit([
      { Put: { TableName: this.tables(model).main, Item: toItem(model, state) } },
      this.eventPut(model, action, state)
    ])
    if (reasons !== undefined) throw writeContention()
    return state
  }

  private tables (model: Model): { main: string, audit: string } {
    return modelTables(this.prefix, model)
  }

  private eventPut (model: Model, action: ChangeAction, state: Entity): TransactWriteItem {
    const time = typeof state.changed_on === 'string' ? state.changed_on : formatTimestamp(Date.now() * 1000)
    return {
      Put: {
        TableName: outboxTable(this.prefix),
        Item: outboxItem(buildEvent(model.path, action, state, time, this.source), this.shards),
        ConditionExpression: 'attribute_not_exists(sk)'
      }
    }
  }

  private async readItem (model: Model, id: string): Promise<Item | undefined> {
    const { Item } = await this.guard(this.client.send(new GetItemCommand({ TableName: this.tables(model).main, Key: { entity_id: { S: id } }, ConsistentRead: true })))
    return Item
  }

  /**
   * Runs one transaction. Returns undefined when it committed, or the cancellation code of each item (in
   * the order given) when a condition failed. Cancellations caused only by another transaction in flight on
   * the same items (TransactionConflict) are retried a few times with jittered backoff: the retry then
   * either commits or fails its condition, which is the true answer.
   */
  private async commit (items: TransactWriteItem[]): Promise<CancellationCode[] | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.guard(this.client.send(new TransactWriteItemsCommand({ TransactItems: items })))
        this.announce(items)
        return undefined
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err
        const codes = (err.CancellationReasons ?? []).map((r) => (r.Code === 'None' ? undefined : r.Code))
        const transient = codes.every((c) => c === undefined || c === 'TransactionConflict' || c === 'ThrottlingError')
        if (!transient || attempt >= MAX_CONTENTION_ATTEMPTS) return codes
        await sleep(Math.round(Math.random() * 20 * 2 ** attempt))
      }
    }
  }

  private announce (items: readonly TransactWriteItem[]): void {
    if (this.onEventCommitted === undefined) return
    const outbox = outboxTable(this.prefix)
    for (const { Put } of items) {
      const shard = Put?.TableName === outbox ? Put.Item?.shard?.N : undefined
      if (shard !== undefined) this.onEventCommitted(Number(shard))
    }
  }

  /** Every DynamoDB call goes through here, so outages and client-caused storage errors become domain errors. */
  private async guard<T> (call: Promise<T>): Promise<T> {
    try {
      return await call
    } catch (err) {
      throw mapStorageError(err)
    }
  }
}
