import {
  GetItemCommand, QueryCommand, ScanCommand, TransactionCanceledException, TransactWriteItemsCommand,
  type CancellationReason, type ConditionCheck, type QueryCommandInput, type ScanCommandInput, type TransactWriteItem
} from '@aws-sdk/client-dynamodb'
import { setTimeout as sleep } from 'node:timers/promises'
import { alreadyExists, auditConflict, entityNotFound, versionNotFound, itemTooLarge, notVersioned, serviceUnavailable, unstorableValue, writeContention, type VersoError } from '../errors.js'
import { ownFields, type Model } from '../models/define.js'
import { formatTimestamp, newEntityId, nextVersionStamp, ZERO_ID } from '../models/entity.js'
import { buildEvent, outboxItem, type ChangeAction } from '../outbox/event.js'
import { boundedSender, type DynamoSender } from '../storage/client.js'
import { guarded } from '../storage/aws-errors.js'
import { fromItem, storedFields, toItem, type Item } from '../storage/item-mapping.js'
import type { Entity } from '../models/entity.js'
import { idempotencyTable, modelTables, outboxTable } from '../storage/table-names.js'
import { applyMergePatch } from './merge-patch.js'
import { VersionHistory } from './version-history.js'
import { IdempotencyRecords, type IdempotencyClaim } from './idempotency-records.js'
import { ExpressionBuilder, type Plan } from './query.js'

export interface RepositoryOptions {
  client: DynamoSender
  tablePrefix: string
  outboxShards: number
  eventSource: string
  /** Told the outbox shard of every committed event, so an in-process relay can publish it at once. */
  onEventCommitted?: (shard: number) => void
  /** The deadline withDeadline() sets (STORAGE_TIMEOUT_MS); default 10 s. */
  storageTimeoutMs?: number
}

export interface WriteOptions {
  /** `changed_by_id` of the new version: the caller's id, the zero id when anonymous. */
  actor?: string
  /** W3C traceparent of the request, carried by the change event (CloudEvents `traceparent` extension). */
  traceparent?: string
  /** Claim on an idempotency key, committed with the write; a committed claim's answer is thrown as IdempotentReplay. */
  idempotency?: IdempotencyClaim<Entity>
}

export interface VersionedWriteOptions extends WriteOptions {
  /** The versions the caller based the write on (If-Match may list several); the write happens only if one is current. */
  expected: readonly string[]
}

export interface ListOptions {
  /** The access path and the conditions it carries (planQuery in ./query.ts). */
  plan: Plan
  limit: number
  startKey?: Item
  includeDeleted: boolean
  /** Along the index's range field; only with an index plan that has one. */
  order?: 'asc' | 'desc'
  /** Attributes to return (entity_id is always returned). */
  fields?: readonly string[]
}

export interface CountResult {
  count: number
  /** Items DynamoDB read to find them. */
  scanned: number
  pages: number
  /** False when the page or time budget ran out first: `count` is then a lower bound. */
  complete: boolean
}

/** Pages and time one count may spend before it answers with what it has. */
const COUNT_BUDGET = { pages: 100, ms: 5000 }

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

type Validate = (fields: Entity) => void

/** A change to an existing entity: what its next state is made from. */
export type Change =
  | { kind: 'replace', fields: Entity }
  | { kind: 'patch', patch: Entity, validate: Validate }
  | { kind: 'delete' }
  /** `past`: the version's audit item, when the caller has started reading it already (read here otherwise). */
  | { kind: 'restore', version: string, past?: Promise<Item | undefined> }

const ACTION: Record<Change['kind'], ChangeAction> = { replace: 'updated', patch: 'updated', delete: 'deleted', restore: 'restored' }

/** What a condition check asserts about an entity: that `version` is current, or that it exists (and is not soft-deleted) or not. */
export type Expectation = { version: string } | { exists: boolean }

/**
 * One entity's share of a transaction, built before anything is written: its items, the state they leave (for
 * a check, the current one), and what a cancellation means for it, given the reasons of its own items.
 */
export interface PlannedWrite<S = Entity> {
  state: S
  items: TransactWriteItem[]
  failure: (reasons: Reasons) => Promise<Error | undefined>
}

/** A planned write whose conditions failed: its index among the writes committed together, and why. */
export interface WriteFailure { index: number, error: Error }

const ENTITY_EXISTS = { ConditionExpression: 'attribute_exists(#id)', ExpressionAttributeNames: { '#id': 'entity_id' } }
const ENTITY_ABSENT = { ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': 'entity_id' } }

const MAX_CONTENTION_ATTEMPTS = 4
const TRANSIENT_CANCELLATIONS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded'])

/**
 * The fields of a new version, and which of them are carried over unchanged, attribute for attribute, from
 * `source` (the stored current item unless said otherwise).
 */
interface Build { fields: Entity, untouched: readonly string[], source?: Item }

/** The cancellation code of each item of a transaction, in the order given; undefined where it was fine. */
export type Reasons = ReadonlyArray<CancellationReason | undefined>
const codeOf = (reasons: Reasons, i: number): string | undefined => reasons[i]?.Code

/**
 * What a cancelled transaction means when none of our own conditions explains it: a value DynamoDB refuses,
 * throttling that outlasted the retries (503), or writers that kept colliding (409).
 */
function unexplained (reasons: Reasons): VersoError {
  const validation = reasons.find((r) => r?.Code === 'ValidationError')
  if (validation !== undefined) return /size/i.test(validation.Message ?? '') ? itemTooLarge() : unstorableValue()
  if (reasons.some((r) => r?.Code === 'TransactionConflict')) return writeContention()
  return serviceUnavailable()
}

/**
 * Versioned entities in DynamoDB, with Rococo's layout. Knows DynamoDB and nothing of HTTP.
 * Every write is one TransactWriteItems holding the new item, the audit copy of the replaced one
 * and the change event for the outbox: all of them are written, or none.
 */
export class EntityRepository {
  private readonly client: DynamoSender
  private readonly prefix: string
  private readonly shards: number
  private readonly source: string
  private readonly onEventCommitted: ((shard: number) => void) | undefined
  /** Reads of past versions (versions, as_of, diff). */
  readonly history: VersionHistory
  private readonly idempotency: IdempotencyRecords

  constructor (private readonly options: RepositoryOptions) {
    this.history = new VersionHistory(options.client, options.tablePrefix)
    this.idempotency = new IdempotencyRecords(options.client, idempotencyTable(options.tablePrefix))
    this.client = options.client
    this.prefix = options.tablePrefix
    this.shards = options.outboxShards
    this.source = options.eventSource
    this.onEventCommitted = options.onEventCommitted
  }

  /**
   * This repository with one deadline, from now, for all the DynamoDB work done through it: a call still
   * running at `storageTimeoutMs` is aborted, the SDK's and the contention retries stop, and the operation
   * fails with 503 VERSO_STORAGE_TIMEOUT. Without it a request could wait on a stalled DynamoDB for
   * minutes (5 s per attempt, 3 attempts per call, several calls and contention retries per request).
   * Each request takes its own.
   */
  withDeadline (): EntityRepository {
    return new EntityRepository({ ...this.options, client: boundedSender(this.client, AbortSignal.timeout(this.options.storageTimeoutMs ?? 10_000)) })
  }

  /** Current state of an entity, soft-deleted ones included (the caller decides whether to show them). One GetItem. */
  async get (model: Model, id: string): Promise<Entity | undefined> {
    const item = await this.readItem(model, id)
    return item === undefined ? undefined : fromItem(model, item)
  }

  /** One Put of the first version (plus the outbox event). A client-supplied id that exists already is a conflict. */
  async create (model: Model, fields: Entity, options: WriteOptions & { entityId?: string } = {}): Promise<Entity> {
    return await this.commitOne(this.planCreate(model, fields, options), options.idempotency)
  }

  /** Full replacement: a new version whose fields are exactly `fields`. */
  async replace (model: Model, id: string, fields: Entity, options: VersionedWriteOptions): Promise<Entity> {
    return await this.writeVersion(model, id, options, { kind: 'replace', fields })
  }

  /** RFC 7396 merge patch on the current fields; `validate` checks the merged result before anything is written. */
  async patch (model: Model, id: string, patch: Entity, options: VersionedWriteOptions & { validate: Validate }): Promise<Entity> {
    return await this.writeVersion(model, id, options, { kind: 'patch', patch, validate: options.validate })
  }

  /** Soft delete: a new version with `active = false` and the same fields. */
  async softDelete (model: Model, id: string, options: VersionedWriteOptions): Promise<Entity> {
    return await this.writeVersion(model, id, options, { kind: 'delete' })
  }

  /**
   * A new version whose fields equal those of `version` (past or current), exactly as they were stored.
   * Undeletes a soft-deleted entity. The past version is read while the current one is: two round trips.
   */
  async restore (model: Model, id: string, version: string, options: VersionedWriteOptions): Promise<Entity> {
    return await this.writeVersion(model, id, options, { kind: 'restore', version, past: this.readPast(model, id, version) })
  }

  /**
   * The write path of every versioned change (docs/architecture.md, "One write"):
   * 1. consistent read of the current item (for the audit copy, the precondition and the merge), and of the
   *    idempotency record when the write has a claim (a retry of a committed write is answered from it);
   * 2. Put of that item, exactly as stored, into the audit table (`attribute_not_exists`);
   * 3. Put of the new version into the main table on condition `version = :read_version`;
   * 4. Put of the change event into the outbox;
   * 5. with a claim, Put of the idempotency record (absent or expired only);
   * 2–5 in one TransactWriteItems (items 2–4 are planned by planChange). Two round trips in all.
   */
  private async writeVersion (model: Model, id: string, options: VersionedWriteOptions, change: Change): Promise<Entity> {
    const [stored] = await this.readCurrent([{ model, id }], options.idempotency)
    return await this.commitOne(await this.planChange(model, id, stored, change, options), options.idempotency)
  }

  /**
   * Consistent reads of the items writes are based on, all at once, then of the idempotency record when there
   * is a claim: a retry of a committed request is answered from it (thrown as IdempotentReplay, or 422 for
   * another request) before its preconditions, which the first request's own commit has made stale, are
   * checked. The record is read after the items, not beside them: an item that already shows the first
   * request's commit then guarantees its record shows too (they commit together), so a retry racing the first
   * request can never see a stale precondition without the record that answers it.
   */
  async readCurrent (keys: ReadonlyArray<{ model: Model, id: string }>, claim?: IdempotencyClaim<never>): Promise<Array<Item | undefined>> {
    const items = await Promise.all(keys.map(async ({ model, id }) => await this.readItem(model, id)))
    const claimed = await this.idempotency.lookup(claim)
    if (claim !== undefined && claimed !== undefined) throw this.idempotency.outcome(claim, claimed)
    return items
  }

  /** The stored item of a past version, for a restore; read while the current item is. */
  readPast (model: Model, id: string, version: string): Promise<Item | undefined> {
    const past = this.history.pastVersion(model, id, version)
    past.catch(() => {}) // awaited when the restore is planned; a failure before that must not surface as an unhandled rejection
    return past
  }

  /** The first version's Put (a client-supplied id must be new) and its event. */
  planCreate (model: Model, fields: Entity, options: WriteOptions & { entityId?: string } = {}): PlannedWrite {
    const id = options.entityId ?? newEntityId()
    const state: Entity = model.versioned
      ? { ...storedFields(fields), entity_id: id, ...nextVersionStamp(), previous_version: ZERO_ID, active: true, changed_by_id: options.actor ?? ZERO_ID }
      : { ...storedFields(fields), entity_id: id }
    return {
      state,
      items: [
        { Put: { TableName: this.tables(model).main, Item: toItem(model, state), ...ENTITY_ABSENT } },
        this.eventPut(model, 'created', state, options.traceparent)
      ],
      failure: async (reasons) => codeOf(reasons, 0) === 'ConditionalCheckFailed' ? alreadyExists(model.name, id) : undefined
    }
  }

  /**
   * The items of a change to the entity `stored` (as read; undefined when absent), after its precondition is
   * checked. Versioned: audit copy, new version, event (the write path above). Not versioned (Rococo's
   * BaseModel): the item overwritten, or deleted, and the event; no audit, no lock.
   */
  async planChange (model: Model, id: string, stored: Item | undefined, change: Change, options: WriteOptions & { expected?: readonly string[] }): Promise<PlannedWrite> {
    if (!model.versioned) return this.planUnversioned(model, id, stored, change, options)
    const { main, audit } = this.tables(model)
    const action = ACTION[change.kind]
    const current = stored === undefined ? undefined : fromItem(model, stored)
    if (stored === undefined || current === undefined || (current.active === false && action !== 'restored')) {
      throw entityNotFound(model.name, id)
    }
    if (typeof current.version !== 'string') throw new Error(`${model.name} ${id} is stored without a version: not a versioned item`)
    const readVersion = current.version
    if (options.expected?.includes(readVersion) !== true) throw new StaleVersionError(readVersion)

    const { fields, untouched, source = stored } = await this.build(model, id, change, current, stored)
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
      const value = source[key]
      if (value !== undefined) nextItem[key] = value
    }
    return {
      state: next,
      items: [
        { Put: { TableName: audit, Item: stored, ConditionExpression: 'attribute_not_exists(#version)', ExpressionAttributeNames: { '#version': 'version' } } },
        {
          Put: {
            TableName: main,
            Item: nextItem,
            ConditionExpression: '#version = :read_version',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':read_version': { S: readVersion } }
          }
        },
        this.eventPut(model, action, next, options.traceparent)
      ],
      failure: async (reasons) => {
        if (codeOf(reasons, 1) === 'ConditionalCheckFailed') return new StaleVersionError((await this.readItem(model, id))?.version?.S)
        if (codeOf(reasons, 0) === 'ConditionalCheckFailed') return auditConflict(model.name, id, readVersion)
        return undefined
      }
    }
  }

  /** The fields of the next version, from the current one (and, for a restore, the past one). */
  private async build (model: Model, id: string, change: Change, current: Entity, stored: Item): Promise<Build> {
    switch (change.kind) {
      case 'replace': return { fields: change.fields, untouched: [] }
      case 'patch': return this.merge(model, current, change.patch, change.validate)
      case 'delete': {
        const fields = ownFields(current)
        return { fields, untouched: Object.keys(fields) }
      }
      case 'restore': {
        const target = current.version === change.version ? stored : await (change.past ?? this.readPast(model, id, change.version))
        if (target === undefined) throw versionNotFound(model.name, id, change.version)
        const fields = ownFields(fromItem(model, target))
        return { fields, untouched: Object.keys(fields), source: target }
      }
    }
  }

  /** Non-versioned changes: replace creates when absent; patch and delete need the item. Last writer wins. */
  private planUnversioned (model: Model, id: string, stored: Item | undefined, change: Change, options: WriteOptions): PlannedWrite {
    if (change.kind === 'restore') throw notVersioned(model.name)
    if (change.kind === 'replace') return this.planOverwrite(model, { ...change.fields, entity_id: id }, stored === undefined ? 'created' : 'updated', options.traceparent)
    if (stored === undefined) throw entityNotFound(model.name, id)
    const current = fromItem(model, stored)
    if (change.kind === 'delete') {
      return {
        state: current,
        items: [
          { Delete: { TableName: this.tables(model).main, Key: { entity_id: { S: id } }, ...ENTITY_EXISTS } },
          this.eventPut(model, 'deleted', current, options.traceparent)
        ],
        failure: async (reasons) => codeOf(reasons, 0) === 'ConditionalCheckFailed' ? entityNotFound(model.name, id) : undefined
      }
    }
    const { fields } = this.merge(model, current, change.patch, change.validate)
    return this.planOverwrite(model, { ...fields, entity_id: id }, 'updated', options.traceparent)
  }

  /** A non-versioned item written as it is: a creation only where none exists, an update over whatever does. */
  private planOverwrite (model: Model, fields: Entity, action: 'created' | 'updated', traceparent?: string): PlannedWrite {
    const state = storedFields(fields)
    const created = action === 'created'
    return {
      state,
      items: [
        { Put: { TableName: this.tables(model).main, Item: toItem(model, state), ...(created ? ENTITY_ABSENT : {}) } },
        this.eventPut(model, action, state, traceparent)
      ],
      failure: async (reasons) => created && codeOf(reasons, 0) === 'ConditionalCheckFailed' ? alreadyExists(model.name, String(state.entity_id)) : undefined
    }
  }

  /**
   * A ConditionCheck of `expect` on the entity `stored` (as read; undefined when absent): refused at once when
   * the read already contradicts it, and checked again by DynamoDB when the transaction commits.
   */
  planCheck (model: Model, id: string, stored: Item | undefined, expect: Expectation): PlannedWrite<Entity | undefined> {
    const verdict = (item: Item | undefined): Error | undefined => {
      const current = item === undefined ? undefined : fromItem(model, item)
      const live = current !== undefined && current.active !== false
      if ('version' in expect) {
        if (current === undefined) return entityNotFound(model.name, id)
        return current.version === expect.version ? undefined : new StaleVersionError(typeof current.version === 'string' ? current.version : undefined)
      }
      if (expect.exists) return live ? undefined : entityNotFound(model.name, id)
      return live ? alreadyExists(model.name, id) : undefined
    }
    const refused = verdict(stored)
    if (refused !== undefined) throw refused
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
    return {
      state: stored === undefined ? undefined : fromItem(model, stored),
      items: [{ ConditionCheck: { TableName: this.tables(model).main, Key: { entity_id: { S: id } }, ...condition } }],
      failure: async (reasons) => codeOf(reasons, 0) === 'ConditionalCheckFailed' ? verdict(await this.readItem(model, id)) ?? writeContention() : undefined
    }
  }

  /**
   * Commits the items of `writes`, and the claim on an idempotency key when there is one, in one
   * TransactWriteItems. Resolves to [] when it committed, else to the writes that caused the cancellation and
   * why. A cancellation the claim answers (a retry of a committed request), or that no write explains, is thrown.
   */
  async commitWrites<T> (writes: ReadonlyArray<PlannedWrite<unknown>>, claim?: IdempotencyClaim<T>, result?: T): Promise<WriteFailure[]> {
    const items = writes.flatMap((w) => w.items)
    const reasons = await this.commit(claim === undefined ? items : [...items, this.idempotency.claimItem(claim, result as T)])
    if (reasons === undefined) return []
    const answered = await this.idempotency.settle(claim, reasons, items.length)
    if (answered !== undefined) throw answered
    let offset = 0
    const explained = await Promise.all(writes.map(async (write, index) => {
      const own = reasons.slice(offset, offset += write.items.length)
      // DynamoDB names the item whose value it refuses (too large, a number out of range).
      const error = own.some((r) => r?.Code === 'ValidationError') ? unexplained(own) : await write.failure(own)
      return error === undefined ? undefined : { index, error }
    }))
    const failures = explained.filter((f) => f !== undefined)
    if (failures.length === 0) throw unexplained(reasons)
    return failures
  }

  /** Commits one planned write (with the claim on its idempotency key) and answers with its state. */
  private async commitOne (planned: PlannedWrite, claim?: IdempotencyClaim<Entity>): Promise<Entity> {
    const [failure] = await this.commitWrites([planned], claim, planned.state)
    if (failure !== undefined) throw failure.error
    return planned.state
  }

  /**
   * A merge patch on the current fields. The merged fields are validated, except attributes the stored item
   * has but the model does not declare (another writer's): those are carried through untouched.
   */
  private merge (model: Model, current: Entity, patch: Entity, validate: Validate): Build {
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

  /**
   * Non-versioned models (Rococo's BaseModel): the item is overwritten, no audit, no lock. Creates when
   * absent: a Put that only succeeds on a new id tells a creation from a replacement, also under concurrency.
   */
  async upsert (model: Model, id: string, fields: Entity, options: WriteOptions = {}): Promise<{ state: Entity, created: boolean }> {
    const state = { ...fields, entity_id: id }
    const created = await this.commit(this.planOverwrite(model, state, 'created', options.traceparent).items)
    if (created === undefined) return { state, created: true }
    if (codeOf(created, 0) !== 'ConditionalCheckFailed') throw unexplained(created)
    return { state: await this.commitOne(this.planOverwrite(model, state, 'updated', options.traceparent)), created: false }
  }

  /** Non-versioned merge patch: read, merge, validate, overwrite. Last writer wins, as in Rococo's BaseModel. */
  async patchUnversioned (model: Model, id: string, patch: Entity, validate: Validate, options: WriteOptions = {}): Promise<Entity> {
    const item = await this.readItem(model, id)
    return await this.commitOne(await this.planChange(model, id, item, { kind: 'patch', patch, validate }, options))
  }

  /** Non-versioned delete: the item is removed; the answer and the event carry its final state. */
  async hardDelete (model: Model, id: string, options: WriteOptions = {}): Promise<Entity> {
    const item = await this.readItem(model, id)
    return await this.commitOne(await this.planChange(model, id, item, { kind: 'delete' }, options))
  }

  /**
   * One page of the plan's Query or Scan (one round trip). DynamoDB applies `Limit` before the filter, so a
   * page may hold fewer items than `limit` (none, even) and still have a next page.
   */
  async list (model: Model, options: ListOptions): Promise<Page> {
    const result = await guarded(this.client.send(this.readCommand(model, options, { Limit: options.limit, ...(options.startKey === undefined ? {} : { ExclusiveStartKey: options.startKey }) })))
    return {
      items: (result.Items ?? []).map((item) => fromItem(model, item)),
      ...(result.LastEvaluatedKey === undefined ? {} : { lastKey: result.LastEvaluatedKey })
    }
  }

  /** How many entities match: Select COUNT over as many pages as the budget allows. */
  async count (model: Model, options: Pick<ListOptions, 'plan' | 'includeDeleted'>): Promise<CountResult> {
    const started = Date.now()
    const result: CountResult = { count: 0, scanned: 0, pages: 0, complete: false }
    let startKey: Item | undefined
    while (result.pages < COUNT_BUDGET.pages && Date.now() - started < COUNT_BUDGET.ms) {
      const page = await guarded(this.client.send(this.readCommand(model, options, { Select: 'COUNT', ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) })))
      result.pages++
      result.count += page.Count ?? 0
      result.scanned += page.ScannedCount ?? 0
      startKey = page.LastEvaluatedKey
      if (startKey === undefined) {
        result.complete = true
        break
      }
    }
    return result
  }

  private readCommand (model: Model, options: Pick<ListOptions, 'plan' | 'includeDeleted' | 'order' | 'fields'>, extra: Partial<QueryCommandInput & ScanCommandInput>): QueryCommand | ScanCommand {
    const { plan } = options
    const expressions = new ExpressionBuilder()
    const filter = plan.filter.map((c) => expressions.condition(c))
    if (model.versioned && !options.includeDeleted) {
      filter.push(`(attribute_not_exists(${expressions.name('active')}) OR ${expressions.name('active')} <> ${expressions.value(false)})`)
    }
    const key = plan.kind === 'index' ? plan.key.map((c) => expressions.condition(c)).join(' AND ') : undefined
    const projection = options.fields === undefined
      ? undefined
      : [...new Set(['entity_id', ...options.fields])].map((f) => expressions.name(f)).join(', ')
    const input = {
      TableName: this.tables(model).main,
      ...(filter.length === 0 ? {} : { FilterExpression: filter.join(' AND ') }),
      ...(projection === undefined ? {} : { ProjectionExpression: projection }),
      ...extra
    }
    const names = expressions.attributeNames()
    const values = expressions.attributeValues()
    const placeholders = { ...(names === undefined ? {} : { ExpressionAttributeNames: names }), ...(values === undefined ? {} : { ExpressionAttributeValues: values }) }
    if (plan.kind === 'scan') return new ScanCommand({ ...input, ...placeholders })
    return new QueryCommand({
      ...input,
      ...placeholders,
      IndexName: plan.index.name,
      KeyConditionExpression: key,
      ScanIndexForward: options.order !== 'desc'
    })
  }

  private tables (model: Model): { main: string, audit: string } {
    return modelTables(this.prefix, model)
  }

  private eventPut (model: Model, action: ChangeAction, state: Entity, traceparent?: string): TransactWriteItem {
    const time = typeof state.changed_on === 'string' ? state.changed_on : formatTimestamp(Date.now() * 1000)
    return {
      Put: {
        TableName: outboxTable(this.prefix),
        Item: outboxItem(buildEvent(model.path, action, state, time, this.source, traceparent), this.shards),
        ConditionExpression: 'attribute_not_exists(sk)'
      }
    }
  }

  private async readItem (model: Model, id: string): Promise<Item | undefined> {
    const { Item } = await guarded(this.client.send(new GetItemCommand({ TableName: this.tables(model).main, Key: { entity_id: { S: id } }, ConsistentRead: true })))
    return Item
  }

  /**
   * Runs one transaction. Returns undefined when it committed, or the cancellation reason of each item (in
   * the order given) when it was cancelled. Cancellations caused only by another transaction in flight on
   * the same items, or by throttling, are retried a few times with jittered backoff: the retry then either
   * commits or fails its condition, which is the true answer.
   */
  private async commit (items: TransactWriteItem[]): Promise<Reasons | undefined> {
    for (let attempt = 1; ; attempt++) {
      let reasons: Reasons
      try {
        await guarded(this.client.send(new TransactWriteItemsCommand({ TransactItems: items })))
        break
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err
        reasons = (err.CancellationReasons ?? []).map((r) => (r.Code === undefined || r.Code === 'None' ? undefined : r))
      }
      const transient = reasons.every((r) => r === undefined || TRANSIENT_CANCELLATIONS.has(r.Code ?? ''))
      if (!transient || attempt >= MAX_CONTENTION_ATTEMPTS) return reasons
      await sleep(Math.round(Math.random() * 20 * 2 ** attempt))
    }
    this.announce(items)
    return undefined
  }

  private announce (items: readonly TransactWriteItem[]): void {
    if (this.onEventCommitted === undefined) return
    const outbox = outboxTable(this.prefix)
    for (const { Put } of items) {
      const shard = Put?.TableName === outbox ? Put.Item?.shard?.N : undefined
      if (shard !== undefined) this.onEventCommitted(Number(shard))
    }
  }
}
