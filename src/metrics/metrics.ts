import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client'
import type { OutboxRelay } from '../outbox/relay.js'
import { observeCalls, type ObservedCall } from '../storage/client.js'
import { acceptQueueLength } from './accept-queue.js'
import { LeanCounter, LeanHistogram, Sampled, type CounterSeries, type HistogramSeries } from './lean.js'

/** Seconds. verso answers most requests in a few milliseconds, so the low end is finer than prom-client's default. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** `route` of requests no route matched: the raw URL would make a series per probe. */
export const UNMATCHED_ROUTE = 'unmatched'

/** The role of a table in verso's layout, from its name: the label of a cancelled transaction item. */
export function tableRole (table: unknown): string {
  if (typeof table !== 'string') return 'unknown'
  if (table.endsWith('_audit')) return 'audit'
  if (table.endsWith('verso_outbox')) return 'outbox'
  if (table.endsWith('verso_outbox_dead')) return 'dead_letter'
  if (table.endsWith('verso_idempotency')) return 'idempotency'
  if (table.endsWith('verso_relay_leases')) return 'lease'
  return 'entity'
}

/** HTTP requests by method, route pattern and status: route → method → status → series. */
class HttpMetrics {
  private readonly duration = new LeanHistogram('verso_http_request_duration_seconds', 'HTTP requests: time from receipt to the end of the response (its _count is the request count)', ['method', 'route', 'status_code'], LATENCY_BUCKETS)
  private readonly byRoute = new Map<string, Map<string, Map<number, HistogramSeries>>>()

  constructor (registry: Registry) { registry.registerMetric(this.duration as unknown as Metric) }

  /** One answered request. `route` is the route's pattern (`/person/:id`), undefined when none matched. */
  observe (method: string, route: string | undefined, status: number, milliseconds: number): void {
    const pattern = route ?? UNMATCHED_ROUTE
    let byMethod = this.byRoute.get(pattern)
    if (byMethod === undefined) this.byRoute.set(pattern, byMethod = new Map())
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) byMethod.set(method, byStatus = new Map())
    let series = byStatus.get(status)
    if (series === undefined) byStatus.set(status, series = this.duration.with(method, pattern, String(status)))
    series.observe(milliseconds / 1000)
  }
}

interface OperationSeries { duration: HistogramSeries, retries: CounterSeries }

/** DynamoDB calls by operation, fed by an SDK middleware (observeCalls). */
class DynamoMetrics {
  private readonly duration = new LeanHistogram('verso_dynamodb_request_duration_seconds', 'DynamoDB calls: time from send to answer, SDK retries included (its _count is the call count)', ['operation'], LATENCY_BUCKETS)
  private readonly retries = new LeanCounter('verso_dynamodb_retries_total', 'Attempts the AWS SDK repeated after throttling or a transient error', ['operation'])
  private readonly errors = new LeanCounter('verso_dynamodb_errors_total', 'DynamoDB calls that failed, by error name (a cancelled transaction is TransactionCanceledException)', ['operation', 'error'])
  private readonly cancellations = new LeanCounter('verso_dynamodb_transaction_cancellations_total', 'Items of cancelled TransactWriteItems calls, by CancellationReason code and the role of the item\'s table (entity, audit, outbox, idempotency, …)', ['reason', 'table'])
  private readonly operations = new Map<string, OperationSeries>()

  constructor (registry: Registry) {
    for (const metric of [this.duration, this.retries, this.errors, this.cancellations]) registry.registerMetric(metric as unknown as Metric)
  }

  readonly observe = (call: ObservedCall): void => {
    let op = this.operations.get(call.command)
    if (op === undefined) {
      const operation = call.command.replace(/Command$/, '')
      op = { duration: this.duration.with(operation), retries: this.retries.with(operation) }
      this.operations.set(call.command, op)
    }
    op.duration.observe(call.seconds)
    if (call.attempts > 1) op.retries.inc(call.attempts - 1)
    if (call.error !== undefined) this.failed(call)
  }

  private failed (call: ObservedCall): void {
    const error = call.error as { name?: unknown, CancellationReasons?: Array<{ Code?: string }> }
    const name = typeof error?.name === 'string' && /^[A-Za-z]{1,64}$/.test(error.name) ? error.name : 'Error'
    this.errors.with(call.command.replace(/Command$/, ''), name).inc()
    if (name !== 'TransactionCanceledException') return
    const items = (call.input as { TransactItems?: Array<Record<string, { TableName?: string } | undefined>> }).TransactItems ?? []
    for (const [i, reason] of (error.CancellationReasons ?? []).entries()) {
      const code = reason.Code ?? 'None'
      if (code === 'None' || !/^[A-Za-z]{1,64}$/.test(code)) continue
      const item = items[i] ?? {}
      const table = (item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck)?.TableName
      this.cancellations.with(code, tableRole(table)).inc()
    }
  }
}

/**
 * The Prometheus metrics of one verso process (or of one app in the tests): a registry of its own, never
 * prom-client's global one, so that several apps in one process do not collide. Served by ./server.ts on
 * METRICS_PORT, never on the API's port.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly http: HttpMetrics
  readonly dynamodb: DynamoMetrics

  constructor () {
    collectDefaultMetrics({ register: this.registry })
    this.http = new HttpMetrics(this.registry)
    this.dynamodb = new DynamoMetrics(this.registry)
  }

  /** Counts and times every call of this client from now on. Returns a function that stops it. */
  instrument (client: DynamoDBClient): () => void {
    return observeCalls(client, this.dynamodb.observe)
  }

  /**
   * The relay's counters and backlog, read at scrape time. Pending and lag come from the relay's last stats
   * round (every RELAY_STATS_MS) and cover the shards this relay owns: sum them over the relays.
   */
  observeRelay (relay: OutboxRelay): void {
    const labelled = (value: (s: ReturnType<OutboxRelay['stats']>) => number) => () => {
      const stats = relay.stats()
      return [{ labels: { publisher: stats.publisher }, value: value(stats) }]
    }
    const metrics = [
      new Sampled('verso_outbox_events_published_total', 'Events the publisher confirmed (and the relay removed from the outbox)', 'counter', labelled((s) => s.published)),
      new Sampled('verso_outbox_events_failed_total', 'Event deliveries that failed and will be retried (broker down, no confirm, 5xx)', 'counter', labelled((s) => s.failed)),
      new Sampled('verso_outbox_events_dead_lettered_total', 'Events the publisher refused for good, moved to the dead-letter table', 'counter', labelled((s) => s.deadLettered)),
      new Sampled('verso_outbox_pending_events', 'Events waiting in the outbox shards this relay owns, at the last stats round (a floor for very large backlogs)', 'gauge', labelled((s) => s.shards.reduce((n, shard) => n + shard.pending, 0))),
      new Sampled('verso_outbox_oldest_pending_age_seconds', 'Age of the oldest waiting event in the shards this relay owns, at the last stats round: the publishing lag', 'gauge', labelled((s) => Math.max(0, ...s.shards.map((shard) => shard.oldestPendingMs ?? 0)) / 1000)),
      new Sampled('verso_outbox_owned_shards', 'Outbox shards this relay holds the lease of', 'gauge', labelled((s) => s.ownedShards.length))
    ]
    for (const metric of metrics) this.registry.registerMetric(metric as unknown as Metric)
  }

  /** The accept queue of the API's listening socket, read at scrape time (Linux; no sample elsewhere). */
  observeListener (server: Server): void {
    const port = (server.address() as AddressInfo | null)?.port
    if (port === undefined) return
    this.registry.registerMetric(new Sampled('verso_http_accept_queue_connections', 'Connections the kernel has completed for the API port that verso has not accepted yet: above zero for long means saturation', 'gauge', () => {
      const waiting = acceptQueueLength(port)
      return waiting === undefined ? [] : [{ value: waiting }]
    }) as unknown as Metric)
  }

  get contentType (): string {
    return this.registry.contentType
  }

  /** The Prometheus text exposition of every metric. */
  async exposition (): Promise<string> {
    return await this.registry.metrics()
  }
}
