import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  BatchWriteItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient, type WriteRequest
} from '@aws-sdk/client-dynamodb'
import type { FastifyBaseLogger } from 'fastify'
import { leaseTable, outboxTable } from '../storage/table-names.js'
import { deadLetter } from './dead-letters.js'
import { ShardLeases } from './leases.js'
import { tracing } from '../telemetry/tracing.js'
import type { OutboxRecord, Publisher } from './publishers/publisher.js'

export interface RelayOptions {
  client: DynamoDBClient
  tablePrefix: string
  shards: number
  publisher: Publisher
  log: FastifyBaseLogger
  batchSize: number
  /** Batches in flight at once, across shards. */
  concurrency: number
  leaseMs: number
  /** How often an idle shard is looked at again (a nudge from this process wakes it at once). */
  idlePollMs: number
  statsMs: number
  relayId?: string
}

export interface ShardStats {
  shard: number
  /** Pending events; when `pendingIsFloor`, at least this many (the count stopped after STATS_PAGES pages). */
  pending: number
  pendingIsFloor: boolean
  oldestPendingMs: number | null
}

export interface RelayStats {
  relayId: string
  publisher: string
  ownedShards: number[]
  published: number
  failed: number
  deadLettered: number
  shards: ShardStats[]
}

const BACKOFF_BASE_MS = 200
const BACKOFF_CAP_MS = 30_000
const STATS_PAGES = 10

/** Full jitter: a random wait up to base·2^attempt, capped (AWS Architecture Blog, "Exponential Backoff and Jitter"). */
const backoff = (attempt: number): number => Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt)

/** The microseconds in an outbox sort key (`00001795738747512345#<event id>`). */
const skMicros = (sk: string): number => Number(sk.slice(0, sk.indexOf('#')))

/** A counting semaphore: at most `size` batches in flight. */
class Gate {
  private free: number
  private readonly waiting: Array<() => void> = []
  constructor (size: number) { this.free = size }
  async run<T> (work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--
    else await new Promise<void>((resolve) => this.waiting.push(resolve))
    try {
      return await work()
    } finally {
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.free++
    }
  }
}

/**
 * Publishes the outbox: each shard's pending events are read oldest first with one Query (never a Scan),
 * handed to the publisher, and deleted only after the publisher confirmed them. Delivery is at least once,
 * in order per entity (an entity's events share a shard and sort by `changed_on`). Relays share the shards
 * through leases, so any number of them can run.
 */
export class OutboxRelay {
  readonly relayId: string
  private readonly options: RelayOptions
  private readonly leases: ShardLeases
  private readonly gate: Gate
  private readonly workers = new Map<number, Promise<void>>()
  private readonly wakers = new Map<number, () => void>()
  /** Shards nudged while their worker was busy: the worker reads again instead of idling. */
  private readonly nudged = new Set<number>()
  /** Shards to hand back: their worker stops after its batch and releases the lease. */
  private readonly draining = new Set<number>()
  private readonly counters = { published: 0, failed: 0, deadLettered: 0 }
  private shardStats: ShardStats[] = []
  private stopping = false
  private loops: Promise<void>[] = []
  private readonly halt = new AbortController()

  constructor (options: RelayOptions) {
    this.options = options
    this.relayId = options.relayId ?? randomUUID()
    this.leases = new ShardLeases({ client: options.client, table: leaseTable(options.tablePrefix), relayId: this.relayId, shards: options.shards, leaseMs: options.leaseMs })
    this.gate = new Gate(options.concurrency)
  }

  start (): void {
    this.options.log.info({ relayId: this.relayId, publisher: this.options.publisher.name, shards: this.options.shards }, 'outbox relay started')
    this.loops = [this.leaseLoop(), this.statsLoop()]
  }

  /** Wakes the worker of a shard (this process just committed an event there). */
  nudge (shard: number): void {
    const wake = this.wakers.get(shard)
    if (wake === undefined) this.nudged.add(shard)
    else wake()
  }

  /** Finishes the batches in flight, releases every lease, closes the publisher. */
  async stop (): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    this.halt.abort()
    for (const wake of this.wakers.values()) wake()
    await Promise.all([...this.loops, ...this.workers.values()])
    await this.leases.releaseAll().catch((err: unknown) => { this.options.log.warn({ err }, 'relay could not release its leases; they expire by themselves') })
    await this.options.publisher.close()
    await (await tracing())?.flush()
    this.options.log.info({ relayId: this.relayId, ...this.counters }, 'outbox relay stopped')
  }

  stats (): RelayStats {
    return {
      relayId: this.relayId,
      publisher: this.options.publisher.name,
      ownedShards: [...this.leases.owned.keys()].sort((a, b) => a - b),
      ...this.counters,
      shards: this.shardStats
    }
  }

  /** Waits `ms`, or less when the relay stops; the timer never outlives the stop. */
  private async pause (ms: number): Promise<void> {
    if (this.stopping) return
    await sleep(ms, undefined, { signal: this.halt.signal }).catch(() => {})
  }

  private async leaseLoop (): Promise<void> {
    let failures = 0
    while (!this.stopping) {
      try {
        const { acquired, lost, surplus, liveRelays } = await this.leases.rebalance()
        failures = 0
        if (acquired.length > 0 || lost.length > 0) this.options.log.info({ relayId: this.relayId, acquired, lost, liveRelays }, 'relay shards changed')
        // A surplus shard with a worker is released by it after its batch; one without is released here.
        for (const shard of this.draining) if (!surplus.includes(shard) || !this.leases.owned.has(shard)) this.draining.delete(shard)
        for (const shard of surplus) {
          if (this.workers.has(shard)) this.draining.add(shard)
          else await this.leases.release(shard)
        }
        for (const shard of this.leases.owned.keys()) {
          if (!this.workers.has(shard) && !this.draining.has(shard)) this.startWorker(shard)
        }
        await this.pause(this.options.leaseMs / 3)
      } catch (err) {
        this.options.log.warn({ err }, 'relay lease round failed')
        await this.pause(backoff(++failures))
      }
    }
  }

  private startWorker (shard: number): void {
    const work = this.work(shard).finally(() => { this.workers.delete(shard) })
    this.workers.set(shard, work)
  }

  private async work (shard: number): Promise<void> {
    let failures = 0
    while (!this.stopping && !this.draining.has(shard) && this.leases.canWork(shard)) {
      let result: { read: number, retry: number }
      this.nudged.delete(shard)
      try {
        // The lease is checked again once the gate lets the batch in: waiting there may have used it up.
        result = await this.gate.run(async () => this.leases.canWork(shard) ? await this.processBatch(shard) : { read: 0, retry: 0 })
      } catch (err) {
        this.options.log.warn({ err, shard }, 'relay batch failed')
        result = { read: 0, retry: 1 }
      }
      if (result.retry > 0) {
        await this.pause(backoff(++failures))
      } else {
        failures = 0
        if (result.read < this.options.batchSize) await this.idle(shard)
      }
    }
    if (this.draining.delete(shard)) await this.leases.release(shard).catch(() => {})
  }

  private async idle (shard: number): Promise<void> {
    if (this.nudged.delete(shard) || this.stopping) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.options.idlePollMs)
      function done (): void { clearTimeout(timer); resolve() }
      this.wakers.set(shard, done)
    })
    this.wakers.delete(shard)
  }

  /** One batch: read the oldest pending events of a shard, publish them, delete what the broker confirmed. */
  private async processBatch (shard: number): Promise<{ read: number, retry: number }> {
    const { client, tablePrefix, publisher, batchSize, log } = this.options
    const { Items = [] } = await client.send(new QueryCommand({
      TableName: outboxTable(tablePrefix),
      KeyConditionExpression: '#shard = :shard',
      ExpressionAttributeNames: { '#shard': 'shard' },
      ExpressionAttributeValues: { ':shard': { N: String(shard) } },
      ConsistentRead: true,
      Limit: batchSize
    }))
    if (Items.length === 0) return { read: 0, retry: 0 }
    const records = Items.map((item): OutboxRecord => ({
      shard,
      sk: String(item.sk?.S),
      eventId: String(item.event_id?.S),
      entityId: String(item.entity_id?.S),
      type: String(item.type?.S),
      body: String(item.event?.S),
      ...(item.traceparent?.S === undefined ? {} : { traceparent: item.traceparent.S })
    }))
    const tracer = await tracing()
    const publishStarted = Date.now()
    const outcomes = await publisher.publish(records)
    tracer?.publishSpans(publisher.name, records, outcomes, publishStarted)
    const done: OutboxRecord[] = []
    let retry = 0
    for (const [i, outcome] of outcomes.entries()) {
      const record = records[i]!
      if (outcome.status === 'ok') {
        done.push(record)
      } else if (outcome.status === 'reject') {
        log.error({ eventId: record.eventId, type: record.type, reason: outcome.reason }, 'publisher refused an event for good: moved to the dead-letter table')
        await deadLetter(client, tablePrefix, record, outcome.reason)
        this.counters.deadLettered++
      } else {
        retry++
        if (retry === 1) log.warn({ shard, eventId: record.eventId, reason: outcome.reason }, 'event not published, will retry')
      }
    }
    await this.remove(done)
    this.counters.published += done.length
    this.counters.failed += retry
    return { read: records.length, retry }
  }

  /** Deletes delivered events, 25 per BatchWriteItem, until DynamoDB has processed every one. */
  private async remove (records: readonly OutboxRecord[]): Promise<void> {
    const table = outboxTable(this.options.tablePrefix)
    for (let i = 0; i < records.length; i += 25) {
      let requests: WriteRequest[] = records.slice(i, i + 25).map((r) => ({ DeleteRequest: { Key: { shard: { N: String(r.shard) }, sk: { S: r.sk } } } }))
      for (let attempt = 0; requests.length > 0; attempt++) {
        // Bounded: events left undeleted are published again later (duplicates, never losses).
        if (attempt === 8) throw new Error(`DynamoDB left ${requests.length} published events undeleted after ${attempt} tries`)
        if (attempt > 0) await sleep(backoff(attempt))
        const { UnprocessedItems } = await this.options.client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }))
        requests = UnprocessedItems?.[table] ?? []
      }
    }
  }

  /** Pending count and oldest pending age of each owned shard, logged every RELAY_STATS_MS. */
  private async statsLoop (): Promise<void> {
    while (!this.stopping) {
      await this.pause(this.options.statsMs)
      if (this.stopping) break
      try {
        this.shardStats = await Promise.all([...this.leases.owned.keys()].sort((a, b) => a - b).map(async (shard) => await this.shardStatsOf(shard)))
        const pending = this.shardStats.reduce((n, s) => n + s.pending, 0)
        const oldest = Math.max(0, ...this.shardStats.map((s) => s.oldestPendingMs ?? 0))
        this.options.log.info({ relayId: this.relayId, pending, oldestPendingMs: oldest, ...this.counters, ownedShards: this.shardStats.length }, 'outbox relay stats')
      } catch (err) {
        this.options.log.warn({ err }, 'relay stats failed')
      }
    }
  }

  async shardStatsOf (shard: number): Promise<ShardStats> {
    const { client, tablePrefix } = this.options
    const query = {
      TableName: outboxTable(tablePrefix),
      KeyConditionExpression: '#shard = :shard',
      ExpressionAttributeNames: { '#shard': 'shard' },
      ExpressionAttributeValues: { ':shard': { N: String(shard) } }
    }
    // Counting a huge backlog costs as much as reading it: at most STATS_PAGES pages, then `pending` is a floor.
    let pending = 0
    let pages = 0
    let start: Record<string, AttributeValue> | undefined
    do {
      const page = await client.send(new QueryCommand({ ...query, Select: 'COUNT', ExclusiveStartKey: start }))
      pending += page.Count ?? 0
      start = page.LastEvaluatedKey
    } while (start !== undefined && ++pages < STATS_PAGES)
    const first = pending === 0 ? undefined : (await client.send(new QueryCommand({ ...query, Limit: 1 }))).Items?.[0]?.sk?.S
    return { shard, pending, pendingIsFloor: start !== undefined, oldestPendingMs: first === undefined ? null : Math.max(0, Date.now() - skMicros(first) / 1000) }
  }
}
