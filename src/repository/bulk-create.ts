import { itemTooLarge } from '../errors.js'
import type { Model } from '../models/define.js'
import type { Entity } from '../models/entity.js'
import type { Storage, WriteOptions } from './repository.js'
import { isOperationError } from './transact.js'
import { commitWrites, type WriteFailure } from './write-commit.js'
import { actionBytes, MAX_ITEM_BYTES, MAX_TRANSACTION_ACTIONS, MAX_TRANSACTION_BYTES, planCreate, writeBytes } from './write-plan.js'

/** What became of one create of createMany: the new state, or why it was refused. */
export type CreateOutcome = { state: Entity } | { error: Error }

/**
 * Creates entities of one model, not atomically: in as few TransactWriteItems as DynamoDB's limits allow (50
 * creates, 4 MB, an entity_id once each), every create with its own event. A create whose condition fails (its
 * entity_id exists) is reported, and the rest of its transaction committed again without it. Transactions run
 * one after another, each with its own storage deadline; callers bound their own concurrency.
 */
export async function createMany (repository: { storage: Storage, withDeadline: () => { storage: Storage } }, model: Model, entries: ReadonlyArray<{ fields: Entity, entityId?: string }>, options: WriteOptions): Promise<CreateOutcome[]> {
  const outcomes: CreateOutcome[] = []
  const planned = entries.map((entry, index) => {
    const write = planCreate(repository.storage, model, entry.fields, { ...options, ...(entry.entityId === undefined ? {} : { entityId: entry.entityId }) })
    // Refused here rather than by DynamoDB, which would refuse the whole transaction for it.
    if (actionBytes(write.items[0] ?? {}) > MAX_ITEM_BYTES) outcomes[index] = { error: itemTooLarge() }
    return { write, bytes: writeBytes(write), id: String(write.state.entity_id) }
  })
  const queue = groups(planned.map((p, index) => ({ ...p, index })).filter((p) => outcomes[p.index] === undefined))
  for (let pending = queue.shift(); pending !== undefined; pending = queue.shift()) {
    let failures: WriteFailure[]
    try {
      failures = await commitWrites(repository.withDeadline().storage, pending.map((p) => p.write))
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
