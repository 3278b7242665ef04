/**
 * What the relay really publishes, held against the AsyncAPI document: a real relay, real RabbitMQ, a real
 * HTTP receiver and the real SQS client (against a local SendMessageBatch endpoint), each event validated
 * (transport headers and body) against the message schema of the channel it arrived on.
 */
import t, { type Test } from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'amqplib'
import { SQSClient } from '@aws-sdk/client-sqs'
import { Type } from 'typebox'
import { defineModel } from '../../src/models/define.js'
import { models as builtInModels } from '../../src/models/index.js'
import { buildAsyncApi } from '../../src/outbox/asyncapi.js'
import { rabbitmqPublisher } from '../../src/outbox/publishers/rabbitmq.js'
import { sqsPublisher } from '../../src/outbox/publishers/sqs.js'
import { signWebhook, webhookPublisher } from '../../src/outbox/publishers/webhook.js'
import { OK, type Publisher } from '../../src/outbox/publishers/publisher.js'
import type { OutboxRelay } from '../../src/outbox/relay.js'
import { etag, json, setup, type TestContext } from '../support/helper.js'
import { rabbitSkip, RABBITMQ_URL } from '../support/rabbit.js'
import { channelsOf, parseAsyncApi, violations } from './asyncapi-support.js'
import { silent, startRelay } from './support.js'

const skip = await rabbitSkip()

/** A model without history: created, updated and deleted events only, no version fields. */
const Setting = defineModel({
  name: 'Setting',
  versioned: false,
  schema: Type.Object({ key: Type.String({ minLength: 1 }), value: Type.String() }, { additionalProperties: false }),
  example: { key: 'theme', value: 'dark' }
})
const models = [...builtInModels, Setting]

/** One delivery as the consumer got it: its channel's transport fields, headers and parsed body. */
interface Delivery { headers: Record<string, unknown>, body: Record<string, any>, raw: string, extra: Record<string, unknown> }
interface SqsEntry { Id: string, MessageBody: string, MessageGroupId?: string, MessageDeduplicationId?: string, MessageAttributes?: Record<string, { StringValue: string }> }

/**
 * Writes every kind of change through the API: a person created, replaced, patched, deleted and restored
 * (with a traceparent of the caller's), a book created, deleted and restored, a setting created, updated and
 * deleted. Returns the number of events committed.
 */
async function writeEveryChange (ctx: TestContext): Promise<number> {
  const send = async (method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, version?: unknown, payload?: object): Promise<Record<string, any>> => {
    const res = await ctx.app.inject({
      method,
      url,
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', ...(version === undefined ? {} : { 'if-match': etag(version) }) },
      ...(payload === undefined ? {} : { payload })
    })
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
    return res.statusCode === 204 ? {} : json(res)
  }
  const person = await send('POST', '/person', undefined, { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines' } })
  const id = String(person.entity_id)
  const replaced = await send('PUT', `/person/${id}`, person.version, { first_name: 'Ada', last_name: 'King', metadata: { team: 'analytics' } })
  const patched = await send('PATCH', `/person/${id}`, replaced.version, { age: 37, metadata: null })
  await send('DELETE', `/person/${id}`, patched.version)
  const deleted = await ctx.events(id)
  await send('POST', `/person/${id}/versions/${String(replaced.version)}/restore`, deleted.at(-1)?.data.version)

  const book = await send('POST', '/book', undefined, { title: 'The Dispossessed', author: 'Ursula K. Le Guin' })
  await send('DELETE', `/book/${String(book.entity_id)}`, book.version)
  const bookEvents = await ctx.events(String(book.entity_id))
  await send('POST', `/book/${String(book.entity_id)}/versions/${String(book.version)}/restore`, bookEvents.at(-1)?.data.version)

  const setting = await send('POST', '/setting', undefined, { key: 'theme', value: 'dark' })
  await send('PATCH', `/setting/${String(setting.entity_id)}`, undefined, { value: 'light' })
  await send('DELETE', `/setting/${String(setting.entity_id)}`)
  return 11
}

/** Every publisher gets every batch; a record is done when all of them took it. */
function fanOut (publishers: readonly Publisher[]): Publisher {
  return {
    name: 'fan-out',
    publish: async (records) => {
      const results = await Promise.all(publishers.map(async (p) => await p.publish(records)))
      return records.map((_, i) => results.map((r) => r[i]!).find((o) => o.status !== 'ok') ?? OK)
    },
    close: async () => { await Promise.all(publishers.map(async (p) => { await p.close() })) }
  }
}

async function listen (t: Test, handle: (body: string, req: IncomingMessage) => { status: number, headers?: Record<string, string>, body?: string }): Promise<string> {
  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => { raw += c.toString() })
    req.on('end', () => {
      const answer = handle(raw, req)
      res.writeHead(answer.status, answer.headers).end(answer.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/** A queue bound to every routing key of `exchange`, keeping each message's routing key, properties and headers. */
async function rabbitConsumer (t: Test, exchange: string, deliveries: Delivery[]): Promise<void> {
  const connection = await connect(RABBITMQ_URL)
  t.teardown(async () => { await connection.close().catch(() => {}) })
  const channel = await connection.createChannel()
  await channel.assertExchange(exchange, 'topic', { durable: true })
  t.teardown(async () => { await channel.deleteExchange(exchange).catch(() => {}) })
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true })
  await channel.bindQueue(queue, exchange, '#')
  await channel.consume(queue, (msg) => {
    if (msg === null) return
    const raw = msg.content.toString()
    deliveries.push({ headers: msg.properties.headers ?? {}, body: JSON.parse(raw), raw, extra: { routingKey: msg.fields.routingKey, exchange: msg.fields.exchange, ...msg.properties } })
  }, { noAck: true })
}

function checkTypes (t: Test, deliveries: Delivery[], total: number): void {
  t.equal(deliveries.length, total, 'every change was delivered once')
  t.same([...new Set(deliveries.map((d) => String(d.body.type)))].sort(), [
    'verso.book.created', 'verso.book.deleted', 'verso.book.restored',
    'verso.person.created', 'verso.person.deleted', 'verso.person.restored', 'verso.person.updated',
    'verso.setting.created', 'verso.setting.deleted', 'verso.setting.updated'
  ], 'every action of versioned and non-versioned models was exercised')
  t.ok(deliveries.filter((d) => String(d.body.type).startsWith('verso.person.')).every((d) => d.body.traceparent?.startsWith('00-4bf92f3577b34da6a3ce929d0e0e4736-') === true), 'with the caller\'s trace')
}

// One relay hands every event to RabbitMQ, the webhook and SQS at once: one set of tables and one write session
// for the three transports (DynamoDB Local and the parser are the slow parts on a loaded machine).
t.test('events the relay publishes conform to the AsyncAPI document', async (t) => {
  const exchange = `verso.test.${randomBytes(4).toString('hex')}`
  const secret = 'whsec-conformance-0123456789'
  const rabbit: Delivery[] = []
  const webhook: Delivery[] = []
  const sqs: Delivery[] = []
  if (skip === false) await rabbitConsumer(t, exchange, rabbit)
  const hookUrl = `${await listen(t, (raw, req) => {
    webhook.push({ headers: req.headers, body: JSON.parse(raw), raw, extra: { method: req.method } })
    return { status: 204 }
  })}/events`
  const sqsEndpoint = await listen(t, (raw) => {
    const entries = (JSON.parse(raw) as { Entries: SqsEntry[] }).Entries
    for (const e of entries) {
      const headers = Object.fromEntries(Object.entries(e.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]))
      sqs.push({ headers, body: JSON.parse(e.MessageBody), raw: e.MessageBody, extra: { MessageGroupId: e.MessageGroupId, MessageDeduplicationId: e.MessageDeduplicationId } })
    }
    const Successful = entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex') }))
    return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify({ Successful, Failed: [] }) }
  })
  const client = new SQSClient({ endpoint: sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })
  t.teardown(() => { client.destroy() })

  const holder: { relay?: OutboxRelay } = {}
  const ctx = await setup(t, { models, onEventCommitted: (shard) => holder.relay?.nudge(shard) })
  holder.relay = startRelay(t, ctx, fanOut([
    ...(skip === false ? [rabbitmqPublisher({ url: RABBITMQ_URL, exchange, log: silent })] : []),
    webhookPublisher({ url: hookUrl, secret }),
    sqsPublisher({ queueUrl: `${sqsEndpoint}/123456789012/events.fifo`, client })
  ]))
  const [total, { document }] = await Promise.all([writeEveryChange(ctx), parseAsyncApi(buildAsyncApi({ models, exchange }))])
  const deadline = Date.now() + 60_000
  const transports = skip === false ? [rabbit, webhook, sqs] : [webhook, sqs]
  while (transports.some((d) => d.length < total) && Date.now() < deadline) await sleep(50)
  await sleep(200)

  t.test('RabbitMQ: each message matches the message of the channel its routing key names', { skip }, async (t) => {
    checkTypes(t, rabbit, total)
    const channels = channelsOf(document, 'rabbitmq')
    for (const d of rabbit) {
      const type = String(d.body.type)
      const on = channels.find((c) => c.address() === d.extra.routingKey)
      if (on === undefined) {
        t.fail(`no channel for routing key ${String(d.extra.routingKey)}`)
        continue
      }
      t.same(violations(on, type, d.headers, d.body), [], `${type} conforms to channel ${on.id()}`)
      const message = on.messages().all().find((m) => m.name() === type)
      t.equal(d.extra.exchange, on.bindings().get('amqp')?.value().exchange.name, 'published to the exchange of the channel binding')
      t.equal(d.extra.contentType, message?.contentType(), 'content type as documented')
      t.equal(d.extra.type, message?.bindings().get('amqp')?.value().messageType, 'AMQP type property as the message binding says')
      t.equal(d.extra.deliveryMode, 2, 'persistent, as the operation binding says')
    }
  })

  t.test('webhook: each POST matches its message on the webhook channel, signature included', async (t) => {
    checkTypes(t, webhook, total)
    const channel = document.channels().get('webhook')!
    const method = document.operations().get('send.webhook')?.bindings().get('http')?.value().method
    for (const d of webhook) {
      const type = String(d.body.type)
      t.same(violations(channel, type, d.headers, d.body), [], `${type} conforms to the webhook channel`)
      t.equal(d.extra.method, method, 'the method of the http operation binding')
      t.equal(d.headers['webhook-signature'], signWebhook(secret, String(d.headers['webhook-id']), Number(d.headers['webhook-timestamp']), d.raw), 'signed as the header schema describes')
    }
  })

  t.test('SQS FIFO: message attributes and body match, group and deduplication ids as the channel binding names them', async (t) => {
    checkTypes(t, sqs, total)
    const channel = document.channels().get('sqs.fifo')!
    const queue = channel.bindings().get('sqs')?.value().queue
    for (const d of sqs) {
      const type = String(d.body.type)
      t.same(violations(channel, type, d.headers, d.body), [], `${type} conforms to the FIFO channel`)
      t.equal(d.extra.MessageGroupId, d.body[queue['x-message-group-id']], 'MessageGroupId as documented')
      t.equal(d.extra.MessageDeduplicationId, d.body[queue['x-message-deduplication-id']], 'MessageDeduplicationId as documented')
    }
  })
})
