import type { AttributeValue, TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { itemTooLarge, transactionTooLarge, VersoError } from '../errors.js'
import type { Model } from '../models/define.js'
import type { Item } from '../storage/item-mapping.js'
import type { Entity } from '../models/entity.js'
import type { IdempotencyClaim } from './idempotency-records.js'
import { StaleVersionError, type Change, type EntityRepository, type Expectation, type PlannedWrite, type WriteFailure, type WriteOptions } from './repository.js'

/** DynamoDB's limits: actions and aggregate item size of one TransactWriteItems, size of one item. */
export const MAX_TRANSACTION_ACTIONS = 100
const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
const MAX_ITEM_BYTES = 400 * 1024

export type TransactionOperation =
  | { kind: 'create', model: Model, id?: string, fields: Entity }
  | { kind: 'change', model: Model, id: string, change: Change, expected?: string }
  | { kind: 'check', model: Model, id: string, expect: Expectation }

/** Actions an operation takes: a versioned change 3 (audit, main, outbox), a create or a non-versioned change 2, a check 1. */
export const actionsOf = (operation: TransactionOperation): number =>
  operation.kind === 'check' ? 1 : operation.kind === 'change' && operation.model.versioned ? 3 : 2

/** Operations of a transaction that cannot be committed, by index; nothing was written. */
export class TransactionFailedError extends Error {
  constructor (readonly failures: WriteFailure[]) {
    super('transaction failed')
    this.name = 'TransactionFailedError'
  }
}

/** An error one operation can be answered with (its own precondition or data); anything else fails the request. */
const isOperationError = (err: unknown): err is Error =>
  err instanceof StaleVersionError || (err instanceof VersoError && err.statusCode < 500)

/**
 * Several creates, changes and condition checks on any entities of any models, committed as one
 * TransactWriteItems with every change's audit copy and event: all of them, or none. The current items are
 * read first, at once (with the past versions restores need and the idempotency record). Each entity at most
 * once: DynamoDB refuses two actions on one item. Resolves to the state each operation leaves (a check: the
 * current state, undefined when absent), in order; throws TransactionFailedError naming the failed operations.
 */
export async function transact (repository: EntityRepository, operations: readonly TransactionOperation[], options: Omit<WriteOptions, 'idempotency'> & { idempotency?: IdempotencyClaim<Array<Entity | undefined>> }): Promise<Array<Entity | undefined>> {
  const { idempotency: claim, ...write } = options
  const actions = operations.reduce((n, operation) => n + actionsOf(operation), claim === undefined ? 0 : 1)
  if (actions > MAX_TRANSACTION_ACTIONS) {
    throw transactionTooLarge(`The operations take ${actions} DynamoDB actions (a versioned change 3, a create or a non-versioned change 2, a check 1, an Idempotency-Key 1); one transaction holds at most ${MAX_TRANSACTION_ACTIONS}.`)
  }
  const prepared = operations.map((op) => op.kind === 'change' && op.change.kind === 'restore'
    ? { ...op, change: { ...op.change, past: repository.readPast(op.model, op.id, op.change.version) } }
    : op)
  const reads = prepared.flatMap((op) => op.kind === 'create' ? [] : [{ model: op.model, id: op.id }])
  const stored = await repository.readCurrent(reads, claim)
  let read = 0
  const failures: WriteFailure[] = []
  const planned = await Promise.all(prepared.map(async (op, index): Promise<PlannedWrite<Entity | undefined> | undefined> => {
    const item = op.kind === 'create' ? undefined : stored[read++]
    try {
      if (op.kind === 'create') return repository.planCreate(op.model, op.fields, { ...write, ...(op.id === undefined ? {} : { entityId: op.id }) })
      if (op.kind === 'check') return repository.planCheck(op.model, op.id, item, op.expect)
      return await repository.planChange(op.model, op.id, item, op.change, { ...write, ...(op.expected === undefined ? {} : { expected: [op.expected] }) })
    } catch (err) {
      if (!isOperationError(err)) throw err
      failures.push({ index, error: err })
      return undefined
    }
  }))
  if (failures.length > 0) throw new TransactionFailedError(failures.sort((a, b) => a.index - b.index))
  const writes = planned.filter((p) => p !== undefined)
  const bytes = writes.reduce((n, w) => n + w.items.reduce((m, item) => m + actionBytes(item), 0), 0)
  if (bytes > MAX_TRANSACTION_BYTES) {
    throw transactionTooLarge(`The items of the operations (new versions, audit copies, events) come to about ${Math.ceil(bytes / 1024)} KiB; one transaction holds at most 4 MiB.`)
  }
  const states = writes.map((w) => w.state)
  const failed = await repository.commitWrites(writes, claim, states)
  if (failed.length > 0) throw new TransactionFailedError(failed)
  return states
}

/** What became of one create of createMany: the new state, or why it was refused. */
export type CreateOutcome = { state: Entity } | { error: Error }

/**
 * Creates entities of one model, not atomically: in as few TransactWriteItems as DynamoDB's limits allow (50
 * creates, 4 MB, an entity_id once each), every create with its own event. A create whose condition fails (its
 * entity_id exists) is reported, and the rest of its transaction committed again without it. Transactions run
 * one after another; callers bound their own concurrency.
 */
export async function createMany (repository: EntityRepository, model: Model, entries: ReadonlyArray<{ fields: Entity, entityId?: string }>, options: WriteOptions): Promise<CreateOutcome[]> {
  const outcomes: CreateOutcome[] = []
  const planned = entries.map((entry, index) => {
    const write = repository.planCreate(model, entry.fields, { ...options, ...(entry.entityId === undefined ? {} : { entityId: entry.entityId }) })
    const bytes = write.items.reduce((n, item) => n + actionBytes(item), 0)
    // Refused here rather than by DynamoDB, which would refuse the whole transaction for it.
    if (actionBytes(write.items[0] ?? {}) > MAX_ITEM_BYTES) outcomes[index] = { error: itemTooLarge() }
    return { write, bytes, id: String(write.state.entity_id) }
  })
  const queue = groups(planned.map((p, index) => ({ ...p, index })).filter((p) => outcomes[p.index] === undefined))
  for (let pending = queue.shift(); pending !== undefined; pending = queue.shift()) {
    let failures: WriteFailure[]
    try {
      failures = await repository.withDeadline().commitWrites(pending.map((p) => p.write))
    } catch (err) {
      // A refusal of the whole request (a value DynamoDB cannot store) names no item: find it one create at a time.
      if (pending.length > 1 && isOperationError(err)) queue.unshift(...pending.map((p) => [p]))
      else for (const p of pending) outcomes[p.index] = { error: err as Error }
      continue
    }
    for (const { index, error } of failures) {
      const failed = pending[index]
      if (failed !== undefined) outcomes[failed.index] = { error }
    }
    const failed = new Set(failures.map((f) => f.index))
    if (failed.size === 0) for (const p of pending) outcomes[p.index] = { state: p.write.state }
    else queue.unshift(pending.filter((_, k) => !failed.has(k)))
  }
  return outcomes
}

/** Consecutive creates grouped into transactions within DynamoDB's limits. */
function groups<T extends { bytes: number, id: string }> (creates: readonly T[]): T[][] {
  const result: T[][] = []
  let group: T[] = []
  let bytes = 0
  for (const create of creates) {
    if (group.length * 2 + 2 > MAX_TRANSACTION_ACTIONS || bytes + create.bytes > MAX_TRANSACTION_BYTES || group.some((c) => c.id === create.id)) {
      result.push(group)
      group = []
      bytes = 0
    }
    group.push(create)
    bytes += create.bytes
  }
  if (group.length > 0) result.push(group)
  return result
}

/** DynamoDB's size of the item an action writes or checks: attribute names plus values, as DynamoDB counts them. */
function actionBytes (action: TransactWriteItem): number {
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
