import { TransactionCanceledException, TransactWriteItemsCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { setTimeout as sleep } from 'node:timers/promises'
import { itemTooLarge, serviceUnavailable, unstorableValue, writeContention, type VersoError } from '../errors.js'
import type { Entity } from '../models/entity.js'
import { guarded } from '../storage/aws-errors.js'
import type { DynamoSender } from '../storage/client.js'
import { readItem } from './entity-reads.js'
import type { IdempotencyClaim, IdempotencyRecords } from './idempotency-records.js'
import { transactItems, type PlannedWrite, type Reasons, type Refusal } from './write-plan.js'

/**
 * The commit engine: planned writes (write-plan.ts) go out as one TransactWriteItems, retried while other
 * transactions on the same items or throttling cancel it; a cancellation is turned into the domain error of
 * the write that caused it. The shard of every committed event is announced to the in-process relay.
 */

export interface CommitSettings {
  client: DynamoSender
  idempotency: IdempotencyRecords
  /** Told the outbox shard of every committed event, so an in-process relay can publish it at once. */
  onEventCommitted?: (shard: number) => void
}

/** A planned write whose conditions failed: its index among the writes committed together, and why. */
export interface WriteFailure { index: number, error: VersoError }

const MAX_CONTENTION_ATTEMPTS = 4
const TRANSIENT_CANCELLATIONS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded'])

/** The reason of each item of a cancelled transaction, in the order given; undefined where it was fine. */
export const cancellationReasons = (err: TransactionCanceledException): Reasons =>
  (err.CancellationReasons ?? []).map((r) => (r.Code === undefined || r.Code === 'None' ? undefined : r))

/** A cancellation caused only by another transaction in flight on the same items, or by throttling: worth a retry. */
export const isTransient = (reasons: Reasons): boolean => reasons.every((r) => r === undefined || TRANSIENT_CANCELLATIONS.has(r.Code ?? ''))

/**
 * What a cancelled transaction means when none of our own conditions explains it: a value DynamoDB refuses,
 * throttling that outlasted the retries (503), or writers that kept colliding (409).
 */
export function unexplained (reasons: Reasons): VersoError {
  const validation = reasons.find((r) => r?.Code === 'ValidationError')
  if (validation !== undefined) return /size/i.test(validation.Message ?? '') ? itemTooLarge() : unstorableValue()
  if (reasons.some((r) => r?.Code === 'TransactionConflict')) return writeContention()
  return serviceUnavailable()
}

/** The writes a cancellation is about, each given the reasons of its own items, and why each was refused. */
export function refusalsOf (writes: ReadonlyArray<PlannedWrite<unknown>>, reasons: Reasons): Array<{ index: number, refusal: Refusal }> {
  let offset = 0
  return writes.flatMap((write, index) => {
    const own = reasons.slice(offset, offset += write.items.length)
    // DynamoDB names the item whose value it refuses (too large, a number out of range).
    const refusal = own.some((r) => r?.Code === 'ValidationError') ? { error: unexplained(own) } : write.refusal(own)
    return refusal === undefined ? [] : [{ index, refusal }]
  })
}

/**
 * Runs one transaction of the writes' items (then `extra`). Returns undefined when it committed, or the
 * cancellation reason of each item when it was cancelled. Transient cancellations are retried a few times
 * with jittered backoff: the retry then either commits or fails its condition, which is the true answer.
 */
export async function commit (settings: CommitSettings, writes: ReadonlyArray<PlannedWrite<unknown>>, extra: readonly TransactWriteItem[] = []): Promise<Reasons | undefined> {
  const items = transactItems(writes, extra)
  for (let attempt = 1; ; attempt++) {
    let reasons: Reasons
    try {
      await guarded(settings.client.send(new TransactWriteItemsCommand({ TransactItems: items })))
      break
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err
      reasons = cancellationReasons(err)
    }
    if (!isTransient(reasons) || attempt >= MAX_CONTENTION_ATTEMPTS) return reasons
    await sleep(Math.round(Math.random() * 20 * 2 ** attempt))
  }
  for (const { shard } of writes) if (shard !== undefined) settings.onEventCommitted?.(shard)
  return undefined
}

/**
 * Commits `writes`, and the claim on an idempotency key when there is one, in one TransactWriteItems.
 * Resolves to [] when it committed, else to the writes that caused the cancellation and why. A cancellation
 * the claim answers (a retry of a committed request), or that no write explains, is thrown.
 */
export async function commitWrites<T> (settings: CommitSettings, writes: ReadonlyArray<PlannedWrite<unknown>>, claim?: IdempotencyClaim<T>, result?: T): Promise<WriteFailure[]> {
  const reasons = await commit(settings, writes, claim === undefined ? [] : [settings.idempotency.claimItem(claim, result as T)])
  if (reasons === undefined) return []
  const answered = await settings.idempotency.settle(claim, reasons, writes.reduce((n, w) => n + w.items.length, 0))
  if (answered !== undefined) throw answered
  const failures = await Promise.all(refusalsOf(writes, reasons).map(async ({ index, refusal }) => {
    if ('error' in refusal) return { index, error: refusal.error }
    const key = writes[index]?.key
    return { index, error: refusal.reread(key === undefined ? undefined : await readItem(settings.client, key.table, key.id)) }
  }))
  if (failures.length === 0) throw unexplained(reasons)
  return failures
}

/** Commits one planned write (with the claim on its idempotency key) and answers with its state. */
export async function commitOne (settings: CommitSettings, planned: PlannedWrite, claim?: IdempotencyClaim<Entity>): Promise<Entity> {
  const [failure] = await commitWrites(settings, [planned], claim, planned.state)
  if (failure !== undefined) throw failure.error
  return planned.state
}
