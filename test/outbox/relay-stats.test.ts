import t from 'tap'
import { OutboxRelay } from '../../src/outbox/relay.js'
import { logPublisher } from '../../src/outbox/publishers/log.js'
import { setup } from '../support/helper.js'
import { silent } from './support.js'

t.test('relay stats: pending events and the oldest pending age per shard', async (t) => {
  const ctx = await setup(t)
  for (let i = 0; i < 5; i++) await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'A', last_name: String(i) } })
  const relay = new OutboxRelay({ client: ctx.client, tablePrefix: ctx.prefix, shards: 4, publisher: logPublisher(silent), log: silent, batchSize: 10, concurrency: 1, leaseMs: 3000, idlePollMs: 50, statsMs: 60_000 })
  const stats = await Promise.all([0, 1, 2, 3].map(async (shard) => await relay.shardStatsOf(shard)))
  t.equal(stats.reduce((n, s) => n + s.pending, 0), 5, 'every unpublished event is counted')
  t.ok(stats.every((s) => !s.pendingIsFloor), 'a small backlog is counted exactly')
  for (const s of stats) {
    if (s.pending === 0) t.equal(s.oldestPendingMs, null)
    else t.ok(s.oldestPendingMs !== null && s.oldestPendingMs >= 0 && s.oldestPendingMs < 60_000, `shard ${s.shard}: oldest pending age ${String(s.oldestPendingMs)} ms`)
  }
})
