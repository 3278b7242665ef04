/**
 * `npm run bench:relay [-- --seconds 20 --concurrency 16]`: sustains writes through the HTTP API for a fixed
 * time while the in-process relay publishes to RabbitMQ (127.0.0.1:5672, or RABBITMQ_URL), and prints
 * writes/s, events published/s, their ratio, and the publish lag (commit → broker confirm) p50/p99.
 * Starts its own DynamoDB Local. Without RabbitMQ it says so and measures with a publisher that confirms at once.
 */
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'amqplib'
import { pino } from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config/config.js'
import { startDynamoDbLocal } from '../src/embedded/dynamodb-local.js'
import { parseTimestampMicros } from '../src/models/entity.js'
import { models } from '../src/models/index.js'
import { rabbitmqPublisher } from '../src/outbox/publishers/rabbitmq.js'
import type { Publisher } from '../src/outbox/publishers/publisher.js'
import { OutboxRelay } from '../src/outbox/relay.js'
import { createDynamoClient } from '../src/storage/client.js'
import { ensureTables } from '../src/storage/table-setup.js'
import { ScanCommand } from '@aws-sdk/client-dynamodb'
import { outboxTable } from '../src/storage/table-names.js'
import { percentile } from './stats.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' }, concurrency: { type: 'string', default: '16' } } })
const seconds = Number(values.seconds)
const concurrency = Number(values.concurrency)
const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const log = pino({ level: 'warn' })

const rabbitUp = await connect(rabbitUrl, { timeout: 3000 }).then(async (m) => { await m.close(); return true }, () => false)
const dynamo = await startDynamoDbLocal()
const client = createDynamoClient({ endpoint: dynamo.endpoint })
const prefix = 'bench_'
await ensureTables(client, prefix, models)

const lags: number[] = []
/** When the broker confirmed each version's event, and when its writer got the 2xx. */
const confirmedAt = new Map<string, number>()
const answeredAt = new Map<string, number>()
const inner: Publisher = rabbitUp
  ? rabbitmqPublisher({ url: rabbitUrl, exchange: 'verso.bench', log })
  : { name: 'instant', publish: async (records) => records.map(() => ({ status: 'ok' as const })), close: async () => {} }
const measured: Publisher = {
  name: inner.name,
  close: inner.close,
  publish: async (records) => {
    const outcomes = await inner.publish(records)
    const now = Date.now()
    outcomes.forEach((o, i) => {
      if (o.status !== 'ok') return
      const event = JSON.parse(records[i]!.body) as { time: string, data: { version: string } }
      lags.push(now - (parseTimestampMicros(event.time) ?? now * 1000) / 1000)
      confirmedAt.set(event.data.version, now)
    })
    return outcomes
  }
}
const holder: { relay?: OutboxRelay } = {}
const app = await buildApp({
  config: { TABLE_PREFIX: prefix, OUTBOX_SHARDS: 16, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1 << 20, REQUEST_TIMEOUT_MS: 30000 },
  dynamo: client,
  onEventCommitted: (shard) => holder.relay?.nudge(shard)
})
// The relay's settings are the service's defaults (loadConfig with nothing set).
const defaults = loadConfig({})
const relay = holder.relay = new OutboxRelay({
  client,
  tablePrefix: prefix,
  shards: defaults.OUTBOX_SHARDS,
  publisher: measured,
  log,
  batchSize: defaults.RELAY_BATCH_SIZE,
  concurrency: defaults.RELAY_CONCURRENCY,
  leaseMs: defaults.RELAY_LEASE_MS,
  idlePollMs: defaults.RELAY_IDLE_POLL_MS,
  statsMs: 3_600_000
})
relay.start()
const base = await app.listen({ port: 0, host: '127.0.0.1' })
await sleep(500)

let writes = 0
let errors = 0
const started = Date.now()
const deadline = started + seconds * 1000
const headers = { 'content-type': 'application/json' }
await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
  while (Date.now() < deadline) {
    const created = await fetch(`${base}/person`, { method: 'POST', headers, body: JSON.stringify({ first_name: `W${w}`, last_name: 'v0' }) })
    if (created.status !== 201) { errors++; await created.body?.cancel(); continue }
    writes++
    let entity = (await created.json()) as { entity_id: string, version: string }
    answeredAt.set(entity.version, Date.now())
    for (let u = 1; u <= 5 && Date.now() < deadline; u++) {
      const res = await fetch(`${base}/person/${entity.entity_id}`, { method: 'PUT', headers: { ...headers, 'if-match': `"${entity.version}"` }, body: JSON.stringify({ first_name: `W${w}`, last_name: `v${u}` }) })
      if (res.status !== 200) { errors++; await res.body?.cancel(); break }
      writes++
      entity = (await res.json()) as typeof entity
      answeredAt.set(entity.version, Date.now())
    }
  }
}))
const writeSeconds = (Date.now() - started) / 1000
const publishedInWindow = relay.stats().published
const drainStart = Date.now()
while ((await client.send(new ScanCommand({ TableName: outboxTable(prefix), Select: 'COUNT' }))).Count !== 0 && Date.now() - drainStart < 60_000) await sleep(100)
const drainSeconds = (Date.now() - drainStart) / 1000

await app.close()
await relay.stop()
client.destroy()
await dynamo.stop()

const pct = (p: number): number => percentile(lags, p)
// Lag seen from the writer: confirm time minus the moment its 2xx arrived (0 when the broker had it first).
const afterAnswer = [...answeredAt].map(([version, at]) => Math.max(0, (confirmedAt.get(version) ?? NaN) - at)).filter((v) => !Number.isNaN(v))
const rows: Array<[string, string]> = [
  ['publisher', rabbitUp ? `rabbitmq (${rabbitUrl.replace(/\/\/[^@]*@/, '//')}, publisher confirms)` : 'instant (RabbitMQ not reachable: relay overhead only)'],
  ['write load', `${concurrency} concurrent HTTP writers for ${writeSeconds.toFixed(1)} s (POST, then PUT with If-Match)`],
  ['writes/s', (writes / writeSeconds).toFixed(1)],
  ['published/s (during the load)', (publishedInWindow / writeSeconds).toFixed(1)],
  ['ratio published/written (goal ≥ 1.0 at the end)', `${(relay.stats().published / Math.max(1, writes)).toFixed(3)} (during the load ${(publishedInWindow / Math.max(1, writes)).toFixed(3)})`],
  ['drain after the load stopped', `${drainSeconds.toFixed(2)} s`],
  ['lag changed_on → confirm p50 / p99', `${pct(0.5).toFixed(1)} / ${pct(0.99).toFixed(1)} ms (includes the write's own transaction)`],
  ['lag writer\'s 2xx → confirm p50 / p99 (goal p99 < 1000 ms)', `${percentile(afterAnswer, 0.5).toFixed(1)} / ${percentile(afterAnswer, 0.99).toFixed(1)} ms`],
  ['write errors', String(errors)]
]
const width = Math.max(...rows.map(([k]) => k.length))
process.stdout.write(`\nverso relay benchmark (${new Date().toISOString()})\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`)
