import { transactionTooLarge, VersoError } from '../errors.js'
import type { Model } from '../models/define.js'
import type { Entity } from '../models/entity.js'
import type { Item } from '../storage/item-mapping.js'
import { readForWrite, startPastRead } from './entity-reads.js'
import type { IdempotencyClaim } from './idempotency-records.js'
import type { Storage, WriteOptions } from './repository.js'
import { commitWrites, type WriteFailure } from './write-commit.js'
import { MAX_TRANSACTION_ACTIONS, MAX_TRANSACTION_BYTES, planChange, planCheck, planCreate, writeBytes, type Change, type Expectation, type PlannedWrite } from './write-plan.js'

export { MAX_TRANSACTION_ACTIONS } from './write-plan.js'

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
export const isOperationError = (err: unknown): err is VersoError => err instanceof VersoError && err.statusCode < 500

/**
 * Several creates, changes and condition checks on any entities of any models, committed as one
 * TransactWriteItems with every change's audit copy and event: all of them, or none. The current items are
 * read first, at once (with the past versions restores need and the idempotency record). Each entity at most
 * once: DynamoDB refuses two actions on one item. Resolves to the state each operation leaves (a check: the
 * current state, undefined when absent), in order; throws TransactionFailedError naming the failed operations.
 */
export async function transact (repository: { storage: Storage }, operations: readonly TransactionOperation[], options: Omit<WriteOptions, 'idempotency'> & { idempotency?: IdempotencyClaim<Array<Entity | undefined>> }): Promise<Array<Entity | undefined>> {
  const { storage } = repository
  const { idempotency: claim, ...write } = options
  const actions = operations.reduce((n, operation) => n + actionsOf(operation), claim === undefined ? 0 : 1)
  if (actions > MAX_TRANSACTION_ACTIONS) {
    throw transactionTooLarge(`The operations take ${actions} DynamoDB actions (a versioned change 3, a create or a non-versioned change 2, a check 1, an Idempotency-Key 1); one transaction holds at most ${MAX_TRANSACTION_ACTIONS}.`)
  }
  const pasts = operations.map((op) => op.kind === 'change' && op.change.kind === 'restore' ? startPastRead(storage.history, op.model, op.id, op.change.version) : undefined)
  const stored = await readForWrite(storage, operations.flatMap((op) => op.kind === 'create' ? [] : [{ model: op.model, id: op.id }]), claim)
  const past: Array<Item | undefined> = await Promise.all(pasts)
  let read = 0
  const failures: WriteFailure[] = []
  const planned = operations.map((op, index): PlannedWrite<Entity | undefined> | undefined => {
    const current = op.kind === 'create' ? undefined : stored[read++]
    try {
      if (op.kind === 'create') return planCreate(storage, op.model, op.fields, { ...write, ...(op.id === undefined ? {} : { entityId: op.id }) })
      if (op.kind === 'check') return planCheck(storage, op.model, op.id, current, op.expect)
      const expected = op.expected === undefined ? {} : { expected: { versions: [op.expected], source: 'body' as const } }
      return planChange(storage, op.model, op.id, { current, past: past[index] }, op.change, { ...write, ...expected })
    } catch (err) {
      if (!isOperationError(err)) throw err
      failures.push({ index, error: err })
      return undefined
    }
  })
  if (failures.length > 0) throw new TransactionFailedError(failures)
  const writes = planned.filter((p) => p !== undefined)
  const bytes = writes.reduce((n, w) => n + writeBytes(w), 0)
  if (bytes > MAX_TRANSACTION_BYTES) {
    throw transactionTooLarge(`The items of the operations (new versions, audit copies, events) come to about ${Math.ceil(bytes / 1024)} KiB; one transaction holds at most 4 MiB.`)
  }
  const states = writes.map((w) => w.state)
  const failed = await commitWrites(storage, writes, claim, states)
  if (failed.length > 0) throw new TransactionFailedError(failed)
  return states
}
