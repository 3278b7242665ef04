import t, { type Test } from 'tap'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { listDeadLetters, redrive } from '../../src/outbox/dead-letters.js'
import { signWebhook, webhookPublisher } from '../../src/outbox/publishers/webhook.js'
import type { OutboxRelay } from '../../src/outbox/relay.js'
import { setup, json } from '../support/helper.js'
import { startRelay, total, writeHistories } from './support.js'

const SECRET = 'whsec-test-secret-0123456789'

/** What a receiver does to check a delivery (docs/events.md documents it). */
function verify (secret: string, headers: IncomingMessage['headers'], body: string): boolean {
  const id = String(headers['webhook-id'])
  const timestamp = Number(headers['webhook-timestamp'])
  if (Math.abs(Date.now() / 1000 - timestamp) > 300) return false
  const expected = Buffer.from(`v1,${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64')}`)
  const given = Buffer.from(String(headers['webhook-signature']))
  return expected.length === given.length && timingSafeEqual(expected, given)
}

interface Delivery { id: string, body: Record<string, any>, valid: boolean }

async function receiver (t: Test, answer: (d: Delivery, attempt: number) => number): Promise<{ url: string, deliveries: Delivery[] }> {
  const deliveries: Delivery[] = []
  const attempts = new Map<string, number>()
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      const delivery = { id: String(req.headers['webhook-id']), body: JSON.parse(body), valid: verify(SECRET, req.headers, body) && req.headers['content-type'] === 'application/cloudevents+json' }
      const attempt = (attempts.get(delivery.id) ?? 0) + 1
      attempts.set(delivery.id, attempt)
      const status = answer(delivery, attempt)
      if (status < 300) deliveries.push(delivery)
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/events`, deliveries }
}

t.test('signature: HMAC-SHA256 over id.timestamp.body, as Standard Webhooks', async (t) => {
  const sig = signWebhook(SECRET, 'msg_1', 1700000000, '{"a":1}')
  t.equal(sig, `v1,${createHmac('sha256', SECRET).update('msg_1.1700000000.{"a":1}').digest('base64')}`)
})

t.test('webhook: signed deliveries, 5xx and 429 retried until acknowledged, order per entity kept', async (t) => {
  // Every event fails once (503 or 429) before the receiver accepts it.
  const hook = await receiver(t, (d, attempt) => attempt === 1 ? (d.id.endsWith('0') ? 429 : 503) : 204)
  const holder: { relay?: OutboxRelay } = {}
  const ctx = await setup(t, { onEventCommitted: (shard) => holder.relay?.nudge(shard) })
  holder.relay = startRelay(t, ctx, webhookPublisher({ url: hook.url, secret: SECRET }))
  const histories = await writeHistories(ctx, 3, 5)
  const deadline = Date.now() + 60_000
  while (hook.deliveries.length < total(histories) && Date.now() < deadline) await sleep(50)
  t.equal(hook.deliveries.length, total(histories), 'every event acknowledged once')
  t.ok(hook.deliveries.every((d) => d.valid), 'every delivery carries a valid signature and the CloudEvents content type')
  for (const [entityId, versions] of histories) {
    t.same(hook.deliveries.filter((d) => d.body.subject === entityId).map((d) => d.body.data.version), versions, 'in version order')
  }
})

t.test('webhook 4xx is final: the event is dead-lettered (kept, visible), later re-driven and delivered', async (t) => {
  let refuse = true
  const hook = await receiver(t, () => refuse ? 422 : 200)
  const holder: { relay?: OutboxRelay } = {}
  const ctx = await setup(t, { onEventCommitted: (shard) => holder.relay?.nudge(shard) })
  holder.relay = startRelay(t, ctx, webhookPublisher({ url: hook.url, secret: SECRET }))
  const created = json(await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'A', last_name: 'B' } }))
  let dead = await listDeadLetters(ctx.client, ctx.prefix)
  for (let i = 0; i < 100 && dead.length === 0; i++) {
    await sleep(50)
    dead = await listDeadLetters(ctx.client, ctx.prefix)
  }
  t.equal(dead.length, 1, 'one dead letter')
  t.equal(dead[0]?.entity_id, created.entity_id)
  t.match(dead[0]?.reason, /422/)
  t.same(dead[0]?.event.data, created, 'the whole event is kept')
  t.equal((await ctx.scanRaw(ctx.outbox)).length, 0, 'and it left the outbox')
  t.equal(holder.relay.stats().deadLettered, 1)

  refuse = false
  t.equal(await redrive(ctx.client, ctx.prefix, dead[0]!.event_id), true)
  t.equal(await redrive(ctx.client, ctx.prefix, dead[0]!.event_id), false, 'a second redrive finds nothing')
  holder.relay.nudge(0); holder.relay.nudge(1); holder.relay.nudge(2); holder.relay.nudge(3)
  for (let i = 0; i < 100 && hook.deliveries.length === 0; i++) await sleep(50)
  t.equal(hook.deliveries.length, 1, 'delivered after the redrive')
  t.equal(hook.deliveries[0]?.id, dead[0]?.event_id, 'with the same event id')
  t.same(await listDeadLetters(ctx.client, ctx.prefix), [])
})
