import t from 'tap'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { logPublisher } from '../../src/outbox/publishers/log.js'
import type { OutboxRelay } from '../../src/outbox/relay.js'
import { setup, json } from '../support/helper.js'
import { startRelay } from './support.js'

t.test('the log publisher writes each event as one pino JSON line and acknowledges it', async (t) => {
  const lines: Array<Record<string, any>> = []
  const sink = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString())); done() } })
  const holder: { relay?: OutboxRelay } = {}
  const ctx = await setup(t, { onEventCommitted: (shard) => holder.relay?.nudge(shard) })
  holder.relay = startRelay(t, ctx, logPublisher(pino({ level: 'info' }, sink)))
  const created = json(await ctx.app.inject({ method: 'POST', url: '/book', payload: { title: 'T', author: 'A' } }))
  for (let i = 0; i < 100 && lines.length === 0; i++) await sleep(50)
  t.equal(lines.length, 1)
  t.equal(lines[0]?.msg, 'change event')
  t.equal(lines[0]?.event.type, 'verso.book.created')
  t.same(lines[0]?.event.data, created)
  for (let i = 0; i < 100 && (await ctx.scanRaw(ctx.outbox)).length > 0; i++) await sleep(50)
  t.equal((await ctx.scanRaw(ctx.outbox)).length, 0, 'acknowledged events leave the outbox')
})
