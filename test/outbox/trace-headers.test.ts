/** The event's traceparent rides in the event (structured mode) and in the transport's own header. */
import t from 'tap'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'amqplib'
import { rabbitmqPublisher } from '../../src/outbox/publishers/rabbitmq.js'
import { webhookPublisher } from '../../src/outbox/publishers/webhook.js'
import type { OutboxRelay } from '../../src/outbox/relay.js'
import { json, setup } from '../support/helper.js'
import { RABBITMQ_URL, rabbitSkip } from '../support/rabbit.js'
import { silent, startRelay } from './support.js'

const TRACEPARENT = `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01`
const sameTrace = (value: unknown): boolean => typeof value === 'string' && value.startsWith('00-4bf92f3577b34da6a3ce929d0e0e4736-') && value.endsWith('-01')

async function until (check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check() && Date.now() < deadline) await sleep(50)
}

t.test('webhook: a traceparent HTTP header, equal to the event\'s', async (t) => {
  const received: Array<{ headers: IncomingHttpHeaders, event: Record<string, unknown> }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      received.push({ headers: req.headers, event: JSON.parse(body) })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const holder: { relay?: OutboxRelay } = {}
  const ctx = await setup(t, { onEventCommitted: (shard) => holder.relay?.nudge(shard) })
  holder.relay = startRelay(t, ctx, webhookPublisher({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, secret: 'x'.repeat(32) }))
  const res = await ctx.app.inject({ method: 'POST', url: '/person', headers: { traceparent: TRACEPARENT }, payload: { first_name: 'Ada', last_name: 'Lovelace' } })
  t.equal(res.statusCode, 201)
  await until(() => received.length === 1)
  t.ok(sameTrace(received[0]?.event.traceparent), 'the event\'s traceparent extension is in the caller\'s trace')
  t.equal(received[0]?.headers.traceparent, received[0]?.event.traceparent, 'the header says the same')
  t.equal(json(res).entity_id, received[0]?.event.subject)
})

const skip = await rabbitSkip()

t.test('RabbitMQ: a traceparent message header, equal to the event\'s', { skip }, async (t) => {
  const exchange = `verso.test.${randomBytes(4).toString('hex')}`
  const model = await connect(RABBITMQ_URL)
  t.teardown(async () => { await model.close() })
  const channel = await model.createChannel()
  await channel.assertExchange(exchange, 'topic', { durable: true })
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true })
  await channel.bindQueue(queue, exchange, '#')
  const received: Array<{ headers: Record<string, unknown>, event: Record<string, unknown> }> = []
  await channel.consume(queue, (msg) => {
    if (msg !== null) received.push({ headers: msg.properties.headers ?? {}, event: JSON.parse(msg.content.toString()) })
  }, { noAck: true })

  const holder: { relay?: OutboxRelay } = {}
  const ctx = await setup(t, { onEventCommitted: (shard) => holder.relay?.nudge(shard) })
  holder.relay = startRelay(t, ctx, rabbitmqPublisher({ url: RABBITMQ_URL, exchange, log: silent }))
  t.equal((await ctx.app.inject({ method: 'POST', url: '/person', headers: { traceparent: TRACEPARENT }, payload: { first_name: 'Ada', last_name: 'Lovelace' } })).statusCode, 201)
  await until(() => received.length === 1)
  t.ok(sameTrace(received[0]?.event.traceparent), 'the event\'s traceparent extension is in the caller\'s trace')
  t.equal(received[0]?.headers.traceparent, received[0]?.event.traceparent, 'the message header says the same')
})
