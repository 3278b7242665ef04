import { GetItemCommand, type CancellationReason, type TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { setTimeout as sleep } from 'node:timers/promises'
import { idempotencyKeyInFlight, idempotencyKeyReused } from '../errors.js'
import { guarded } from '../storage/aws-errors.js'
import type { DynamoSender } from '../storage/client.js'

/**
 * A claim on an idempotency key, committed in the same TransactWriteItems as the change it guards: the change
 * and the record of its answer are written together, or neither is. Whoever builds the claim decides what the
 * key is scoped to and what the stored answer holds; here both are opaque text.
 */
export interface IdempotencyClaim<T = unknown> {
  /** The record's partition key. */
  key: string
  /** Digest of the request; a later request with the same key must carry the same one to be answered. */
  fingerprint: string
  /** Epoch seconds after which the record counts as absent (DynamoDB's TTL deletes it some time later). */
  expiresAt: number
  /** The answer to store, made from the result of the write before the transaction is sent. */
  response: (result: T) => string
}

/** The key was committed before by the same request: `response` is what the claim stored then. */
export class IdempotentReplay extends Error {
  constructor (readonly response: string) {
    super('idempotent replay')
    this.name = 'IdempotentReplay'
  }
}

interface IdempotencyRecord { fingerprint: string, response: string, expiresAt: number }

const epochSeconds = (): number => Math.floor(Date.now() / 1000)

/**
 * Waits for the record of a request that holds the key in a transaction still committing (TransactionConflict
 * after the commit's own retries): about 1.5 s in all, then 409.
 */
const IN_FLIGHT_WAITS_MS = [25, 50, 100, 200, 400, 700]

/**
 * Records of idempotency keys (`verso_idempotency`, hash `pk`, TTL on `expires_at`): the answer of every write
 * made under a key, replayed to a retry of the same request. Knows DynamoDB and nothing of HTTP.
 */
export class IdempotencyRecords {
  constructor (private readonly client: DynamoSender, private readonly table: string) {}

  /**
   * The transaction item that claims the key. DynamoDB's TTL deletes expired items lazily (within days), so an
   * expired record must count as absent: the condition lets a claim replace it.
   */
  claimItem<T> (claim: IdempotencyClaim<T>, result: T): TransactWriteItem {
    return {
      Put: {
        TableName: this.table,
        Item: {
          pk: { S: claim.key },
          fingerprint: { S: claim.fingerprint },
          response: { S: claim.response(result) },
          expires_at: { N: String(claim.expiresAt) },
          created_at: { S: new Date().toISOString() }
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #expires_at < :now',
        ExpressionAttributeNames: { '#pk': 'pk', '#expires_at': 'expires_at' },
        ExpressionAttributeValues: { ':now': { N: String(epochSeconds()) } }
      }
    }
  }

  /**
   * The live record of the claim's key, for writes that read before they write: answering from it first spares
   * a retry the preconditions the first request's own commit has made stale. Undefined without a claim.
   */
  async lookup (claim: IdempotencyClaim<never> | undefined): Promise<IdempotencyRecord | undefined> {
    if (claim === undefined) return undefined
    const record = await this.read(claim.key)
    return record !== undefined && record.expiresAt >= epochSeconds() ? record : undefined
  }

  /** What a record says to a request under the same key: the stored answer when it is the same request, else 422. */
  outcome (claim: IdempotencyClaim<never>, record: IdempotencyRecord): Error {
    return record.fingerprint === claim.fingerprint ? new IdempotentReplay(record.response) : idempotencyKeyReused()
  }

  /**
   * What a cancelled transaction owes to its claim (the item at `index` of `reasons`), or undefined when the
   * claim did not cause the cancellation. ConditionalCheckFailed: a live record holds the key, answer from it.
   * TransactionConflict: another request is committing under the key; its record is waited for (bounded), then
   * answered from, and 409 when it has still not appeared. Another item's failed condition (a client-supplied
   * entity_id that exists: the first request's own commit) is answered from a live record too, when there is one.
   */
  async settle (claim: IdempotencyClaim<never> | undefined, reasons: ReadonlyArray<CancellationReason | undefined>, index: number): Promise<Error | undefined> {
    if (claim === undefined) return undefined
    const code = reasons[index]?.Code
    if (code === undefined) {
      if (!reasons.some((r) => r?.Code === 'ConditionalCheckFailed')) return undefined
      const record = await this.lookup(claim)
      return record === undefined ? undefined : this.outcome(claim, record)
    }
    if (code === 'ConditionalCheckFailed') {
      // The condition saw a live record; only TTL deletion in between makes it vanish, and then a retry executes.
      const record = await this.read(claim.key)
      return record === undefined ? idempotencyKeyInFlight() : this.outcome(claim, record)
    }
    if (code !== 'TransactionConflict') return undefined
    for (const wait of [0, ...IN_FLIGHT_WAITS_MS]) {
      if (wait > 0) await sleep(wait)
      const record = await this.lookup(claim)
      if (record !== undefined) return this.outcome(claim, record)
    }
    return idempotencyKeyInFlight()
  }

  private async read (key: string): Promise<IdempotencyRecord | undefined> {
    const { Item } = await guarded(this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: key } }, ConsistentRead: true })))
    if (Item?.fingerprint?.S === undefined || Item.response?.S === undefined) return undefined
    return { fingerprint: Item.fingerprint.S, response: Item.response.S, expiresAt: Number(Item.expires_at?.N ?? 0) }
  }
}
