import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import type { Model } from '../models/define.js'
import type { Entity } from '../models/entity.js'
import { boundedSender, type DynamoSender } from '../storage/client.js'
import { Deadline } from '../storage/deadline.js'
import type { Item } from '../storage/item-mapping.js'
import { idempotencyTable, outboxTable } from '../storage/table-names.js'
import { countMatching, listPage, readEntity, readForWrite, startPastRead, type CountResult, type ListOptions, type Page } from './entity-reads.js'
import { IdempotencyRecords, type IdempotencyClaim } from './idempotency-records.js'
import { VersionHistory } from './version-history.js'
import { commit, commitOne, unexplained, type CommitSettings } from './write-commit.js'
import { codeOf, planChange, planCreate, planOverwrite, type Change, type ExpectedVersions, type PlanOptions, type PlanSettings, type Validate } from './write-plan.js'

export type { CountResult, ListOptions, Page } from './entity-reads.js'

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

export interface WriteOptions extends PlanOptions {
  /** Claim on an idempotency key, committed with the write; a committed claim's answer is thrown as IdempotentReplay. */
  idempotency?: IdempotencyClaim<Entity>
}

export interface VersionedWriteOptions extends WriteOptions {
  /** The versions the caller based the write on; the write happens only if one is current. */
  expected: ExpectedVersions
}

/** What reading, planning and committing need: transact.ts and bulk-create.ts use it as this facade does. */
export interface Storage extends PlanSettings, CommitSettings {
  /** Reads of past versions (versions, as_of, diff). */
  history: VersionHistory
}

/**
 * Versioned entities in DynamoDB, with Rococo's layout. Knows DynamoDB and nothing of HTTP. Reads are in
 * entity-reads.ts; every write is planned by write-plan.ts (the new item, the audit copy of the replaced one
 * and the change event) and committed by write-commit.ts in one TransactWriteItems: all of them, or none.
 */
export class EntityRepository {
  readonly storage: Storage
  /** Reads of past versions (versions, as_of, diff). */
  readonly history: VersionHistory

  constructor (private readonly options: RepositoryOptions) {
    const { client, tablePrefix, outboxShards, eventSource, onEventCommitted } = options
    this.history = new VersionHistory(client, tablePrefix)
    const idempotency = new IdempotencyRecords(client, idempotencyTable(tablePrefix))
    this.storage = { client, tablePrefix, outboxShards, eventSource, onEventCommitted, idempotency, history: this.history }
  }

  /**
   * This repository with one deadline, from now, for all the DynamoDB work done through it: a call still
   * running at `storageTimeoutMs` is aborted, the SDK's and the contention retries stop, and the operation
   * fails with 503 VERSO_STORAGE_TIMEOUT. Without it a request could wait on a stalled DynamoDB for
   * minutes (5 s per attempt, 3 attempts per call, several calls and contention retries per request).
   * Each request takes its own.
   */
  withDeadline (): EntityRepository {
    return new EntityRepository({ ...this.options, client: boundedSender(this.options.client, Deadline.in(this.options.storageTimeoutMs ?? 10_000)) })
  }

  /** Readiness: DynamoDB answers within 2 s and verso's outbox table is there. One DescribeTable. */
  async ready (): Promise<void> {
    await boundedSender(this.options.client, Deadline.in(2000)).send(new DescribeTableCommand({ TableName: outboxTable(this.options.tablePrefix) }))
  }

  /** Current state of an entity, soft-deleted ones included (the caller decides whether to show them). One GetItem. */
  async get (model: Model, id: string): Promise<Entity | undefined> {
    return await readEntity(this.storage, model, id)
  }

  /** One page of the plan's Query or Scan (one round trip); it may hold fewer than `limit` items and still have a next. */
  async list (model: Model, options: ListOptions): Promise<Page> {
    return await listPage(this.storage, model, options)
  }

  /** How many entities match: Select COUNT over as many pages as the budget allows. */
  async count (model: Model, options: Pick<ListOptions, 'plan' | 'includeDeleted'>): Promise<CountResult> {
    return await countMatching(this.storage, model, options)
  }

  /** One Put of the first version (plus the outbox event). A client-supplied id that exists already is a conflict. */
  async create (model: Model, fields: Entity, options: WriteOptions & { entityId?: string } = {}): Promise<Entity> {
    return await commitOne(this.storage, planCreate(this.storage, model, fields, options), options.idempotency)
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
    return await this.writeVersion(model, id, options, { kind: 'restore', version }, startPastRead(this.history, model, id, version))
  }

  /**
   * The write path of every versioned change (docs/architecture.md, "One write"): consistent read of the
   * current item (and of the idempotency record when the write has a claim: a retry of a committed write is
   * answered from it), then the planned audit copy, new version, event and claim in one TransactWriteItems.
   * Two round trips in all.
   */
  private async writeVersion (model: Model, id: string, options: VersionedWriteOptions, change: Change, past?: Promise<Item | undefined>): Promise<Entity> {
    const [current] = await readForWrite(this.storage, [{ model, id }], options.idempotency)
    const planned = planChange(this.storage, model, id, { current, past: await past }, change, options)
    return await commitOne(this.storage, planned, options.idempotency)
  }

  /**
   * Non-versioned models (Rococo's BaseModel): the item is overwritten, no audit, no lock. Creates when
   * absent: a Put that only succeeds on a new id tells a creation from a replacement, also under concurrency.
   */
  async upsert (model: Model, id: string, fields: Entity, options: WriteOptions = {}): Promise<{ state: Entity, created: boolean }> {
    const state = { ...fields, entity_id: id }
    const created = await commit(this.storage, [planOverwrite(this.storage, model, state, 'created', options.traceparent)])
    if (created === undefined) return { state, created: true }
    if (codeOf(created, 0) !== 'ConditionalCheckFailed') throw unexplained(created)
    return { state: await commitOne(this.storage, planOverwrite(this.storage, model, state, 'updated', options.traceparent)), created: false }
  }

  /** Non-versioned merge patch: read, merge, validate, overwrite. Last writer wins, as in Rococo's BaseModel. */
  async patchUnversioned (model: Model, id: string, patch: Entity, validate: Validate, options: WriteOptions = {}): Promise<Entity> {
    return await this.writeUnversioned(model, id, { kind: 'patch', patch, validate }, options)
  }

  /** Non-versioned delete: the item is removed; the answer and the event carry its final state. */
  async hardDelete (model: Model, id: string, options: WriteOptions = {}): Promise<Entity> {
    return await this.writeUnversioned(model, id, { kind: 'delete' }, options)
  }

  private async writeUnversioned (model: Model, id: string, change: Change, options: WriteOptions): Promise<Entity> {
    const [current] = await readForWrite(this.storage, [{ model, id }])
    return await commitOne(this.storage, planChange(this.storage, model, id, { current }, change, options))
  }
}
