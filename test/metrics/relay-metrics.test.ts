import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { freeLoopbackPort } from '../../src/embedded/dynamodb-local.js'
import { OutboxRelay } from '../../src/outbox/relay.js'
import { OK, type Outcome, type Publisher } from '../../src/outbox/publishers/publisher.js'
import { setup } from '../support/helper.js'
import { silent, spawnRelay } from '../outbox/support.js'
import { sample, scrape } from './support.js'

async function eventually (check: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(50)
  }
  return false
}

t.test('in-process relay: published, failed, dead-lettered, pending and lag', async (t) => {
  const ctx = await setup(t, { metrics: true })
  const metrics = ctx.app.metrics
  if (metrics === null) throw new Error('metrics are off')
  for (let i = 0; i < 3; i++) await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'A', last_name: String(i) } })
  await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Refused', last_name: 'X' } })

  // A broker that is down at first, then takes everything but refuses one event for good.
  let down = true
  const publisher: Publisher = {
    name: 'test',
    publish: async (records) => records.map((r): Outcome => {
      if (down) return { status: 'retry', reason: 'down' }
      return r.body.includes('"Refused"') ? { status: 'reject', reason: 'no' } : OK
    }),
    close: async () => {}
  }
  const relay = new OutboxRelay({ client: ctx.client, tablePrefix: ctx.prefix, shards: 4, publisher, log: silent, batchSize: 10, concurrency: 4, leaseMs: 3000, idlePollMs: 50, statsMs: 200 })
  metrics.observeRelay(relay)
  relay.start()
  t.teardown(async () => { await relay.stop() })

  t.ok(await eventually(async () => sample(await scrape(ctx.app), 'verso_outbox_pending_events') === 4), 'pending: the 4 unpublished events, once the stats round ran')
  t.ok(await eventually(async () => sample(await scrape(ctx.app), 'verso_outbox_events_failed_total', { publisher: 'test' }) >= 4), 'failed deliveries are counted')
  let text = await scrape(ctx.app)
  t.equal(sample(text, 'verso_outbox_owned_shards', { publisher: 'test' }), 4, 'the only relay owns every shard')
  t.ok(sample(text, 'verso_outbox_oldest_pending_age_seconds') > 0, 'the lag grows while the broker is down')
  t.equal(sample(text, 'verso_outbox_events_published_total'), 0)

  down = false
  t.ok(await eventually(async () => sample(await scrape(ctx.app), 'verso_outbox_events_published_total', { publisher: 'test' }) === 3), 'published')
  t.ok(await eventually(async () => sample(await scrape(ctx.app), 'verso_outbox_pending_events') === 0), 'nothing pending after the next stats round')
  text = await scrape(ctx.app)
  t.equal(sample(text, 'verso_outbox_events_dead_lettered_total', { publisher: 'test' }), 1, 'the refused event')
  t.equal(sample(text, 'verso_outbox_oldest_pending_age_seconds'), 0)
  t.match(text, /# TYPE verso_outbox_events_published_total counter/)
  t.match(text, /# TYPE verso_outbox_pending_events gauge/)
  t.ok(sample(text, 'verso_dynamodb_request_duration_seconds_count', { operation: 'BatchWriteItem' }) >= 1, 'the relay\'s DynamoDB calls on the shared client are counted too')
})

t.test('npm run relay serves its metrics on METRICS_PORT', async (t) => {
  const ctx = await setup(t)
  for (let i = 0; i < 2; i++) await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'A', last_name: String(i) } })
  const port = await freeLoopbackPort()
  spawnRelay(t, ctx, { OUTBOX_PUBLISHER: 'log', METRICS_PORT: String(port), RELAY_STATS_MS: '1000' })
  let text = ''
  const published = await eventually(async () => {
    text = await fetch(`http://127.0.0.1:${port}/metrics`).then(async (res) => await res.text(), () => '')
    return sample(text, 'verso_outbox_events_published_total', { publisher: 'log' }) === 2
  }, 30_000)
  t.ok(published, `the standalone relay published both events and says so (${text.slice(0, 200)})`)
  t.ok(sample(text, 'verso_dynamodb_request_duration_seconds_count', { operation: 'Query' }) >= 1, 'its DynamoDB calls')
  t.match(text, /^process_cpu_user_seconds_total /m, 'process metrics')
})
