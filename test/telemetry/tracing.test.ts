/** OpenTelemetry spans of requests, DynamoDB calls and publishes, exported over OTLP/HTTP to a real receiver. */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { rabbitmqPublisher } from '../../src/outbox/publishers/rabbitmq.js'
import type { OutboxRelay } from '../../src/outbox/relay.js'
import { tracing } from '../../src/telemetry/tracing.js'
import { json, setup } from '../support/helper.js'
import { consume, RABBITMQ_URL, rabbitSkip } from '../support/rabbit.js'
import { silent, startRelay } from '../outbox/support.js'
import { startReceiver } from './receiver.js'

const receiver = await startReceiver(t)
// The standard variables, as an operator sets them; read when the first app starts tracing.
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url
process.env.OTEL_SERVICE_NAME = 'verso-under-test'

const SERVER = 2
const CLIENT = 3
const PRODUCER = 4
const ERROR = 2

const hex = (bytes: number): string => randomBytes(bytes).toString('hex')
async function exported (): Promise<void> {
  const traced = await tracing()
  if (traced === undefined) throw new Error('tracing is not on')
  await traced.flush()
}

t.test('a request joins the caller\'s trace: its span, one span per DynamoDB call under it, the event pointing at it', async (t) => {
  const ctx = await setup(t)
  const traceId = hex(16)
  const callerSpan = hex(8)
  const created = await ctx.app.inject({ method: 'POST', url: '/person', headers: { traceparent: `00-${traceId}-${callerSpan}-01`, 'user-agent': 'tap' }, payload: { first_name: 'Ada', last_name: 'Lovelace' } })
  t.equal(created.statusCode, 201)
  const id = String(json(created).entity_id)
  const missing = await ctx.app.inject({ method: 'GET', url: `/person/${'f'.repeat(32)}`, headers: { traceparent: `00-${traceId}-${callerSpan}-01` } })
  t.equal(missing.statusCode, 404)
  await exported()

  t.not((globalThis as Record<symbol, unknown>)[Symbol.for('opentelemetry.js.api.1')], undefined, 'the OpenTelemetry API is registered (test/telemetry/off.test.ts checks it is not when off)')
  t.ok(receiver.requests.every((r) => r.path === '/v1/traces' && r.contentType === 'application/json'), 'OTLP/HTTP JSON at /v1/traces')
  const spans = receiver.spans.filter((s) => s.traceId === traceId)
  const servers = spans.filter((s) => s.kind === SERVER)
  t.equal(servers.length, 2, 'one server span per request')
  const post = servers.find((s) => s.name === 'POST /person')
  if (post === undefined) throw new Error('no span for the POST')
  t.equal(post.parentSpanId, callerSpan, 'child of the caller\'s span')
  t.match(post.attributes, { 'http.request.method': 'POST', 'http.route': '/person', 'url.path': '/person', 'http.response.status_code': 201, 'user_agent.original': 'tap' })
  t.equal(post.resource['service.name'], 'verso-under-test', 'OTEL_SERVICE_NAME names the service')
  t.notOk(post.status.code === ERROR, 'a 201 is no error')

  const writes = spans.filter((s) => s.parentSpanId === post.spanId)
  t.ok(writes.length >= 1, 'the POST made DynamoDB calls, each with a span under the request')
  for (const call of writes) {
    t.equal(call.kind, CLIENT)
    t.match(call.name, /^DynamoDB\.[A-Za-z]+$/)
    t.match(call.attributes, { 'rpc.system': 'aws-api', 'rpc.service': 'DynamoDB', 'db.system.name': 'aws.dynamodb' })
    t.ok((call.attributes['aws.dynamodb.table_names'] as string[]).every((name) => name.startsWith(ctx.prefix)), `${call.name} names verso's tables`)
  }
  t.ok(writes.some((s) => s.name === 'DynamoDB.TransactWriteItems' && (s.attributes['aws.dynamodb.table_names'] as string[]).includes(ctx.outbox)), 'the commit, with the outbox among its tables')

  const [event] = await ctx.events(id)
  t.equal(event?.traceparent, `00-${traceId}-${post.spanId}-01`, 'the event\'s traceparent is the span that committed it')

  const get = servers.find((s) => s.attributes['http.request.method'] === 'GET')
  t.match(get, { name: /^GET \/person\/:\w+$/, attributes: { 'http.response.status_code': 404 } }, 'named by its route')
  t.ok(spans.some((s) => s.parentSpanId === get?.spanId && s.name === 'DynamoDB.GetItem'), 'the read has its GetItem span')
})

t.test('without a traceparent verso starts the trace, and the sampler\'s decision reaches the event', async (t) => {
  const ctx = await setup(t)
  const created = await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Grace', last_name: 'Hopper' } })
  t.equal(created.statusCode, 201)
  const [event] = await ctx.events(String(json(created).entity_id))
  await exported()
  const [, traceId, spanId, flags] = String(event?.traceparent).split('-')
  t.equal(flags, '01', 'sampled by the default sampler (parentbased_always_on)')
  const root = receiver.spans.find((s) => s.spanId === spanId)
  t.equal(root?.traceId, traceId)
  t.equal(root?.parentSpanId, undefined, 'a root span')
  t.equal(root?.name, 'POST /person')
})

t.test('a caller that does not sample: no span recorded, the event says so', async (t) => {
  const ctx = await setup(t)
  const traceId = hex(16)
  const created = await ctx.app.inject({ method: 'POST', url: '/person', headers: { traceparent: `00-${traceId}-${hex(8)}-00` }, payload: { first_name: 'Alan', last_name: 'Turing' } })
  t.equal(created.statusCode, 201)
  const [event] = await ctx.events(String(json(created).entity_id))
  await exported()
  t.match(event?.traceparent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`))
  t.equal(receiver.spans.filter((s) => s.traceId === traceId).length, 0, 'nothing exported for an unsampled trace')
})

t.test('a failed DynamoDB call: its span and the request\'s say so', async (t) => {
  const ctx = await setup(t)
  const traceId = hex(16)
  // A table that does not exist: the request fails with a 5xx after the SDK's error.
  await ctx.client.send(new (await import('@aws-sdk/client-dynamodb')).DeleteTableCommand({ TableName: ctx.tables((await import('../../src/models/person.js')).Person).main }))
  const res = await ctx.app.inject({ method: 'GET', url: `/person/${'e'.repeat(32)}`, headers: { traceparent: `00-${traceId}-${hex(8)}-01` } })
  t.ok(res.statusCode >= 500, `answered ${res.statusCode}`)
  await exported()
  const server = receiver.spans.find((s) => s.traceId === traceId && s.kind === SERVER)
  t.equal(server?.status.code, ERROR)
  const call = receiver.spans.find((s) => s.traceId === traceId && s.kind === CLIENT)
  t.equal(call?.status.code, ERROR)
  t.equal(call?.attributes['error.type'], 'ResourceNotFoundException')
  t.ok(call?.events.some((e) => e.name === 'exception'), 'the exception is recorded')
})

const skip = await rabbitSkip()

t.test('each publish has a PRODUCER span under the span that committed the event', { skip }, async (t) => {
  const exchange = `verso.test.${randomBytes(4).toString('hex')}`
  const consumer = await consume(exchange)
  t.teardown(async () => { await consumer.close() })
  const holder: { relay?: OutboxRelay } = {}
  const ctx = await setup(t, { onEventCommitted: (shard) => holder.relay?.nudge(shard) })
  holder.relay = startRelay(t, ctx, rabbitmqPublisher({ url: RABBITMQ_URL, exchange, log: silent }))
  const traceId = hex(16)
  const created = await ctx.app.inject({ method: 'POST', url: '/person', headers: { traceparent: `00-${traceId}-${hex(8)}-01` }, payload: { first_name: 'Ada', last_name: 'Lovelace' } })
  t.equal(created.statusCode, 201)
  const [event] = await ctx.events(String(json(created).entity_id))
  for (let i = 0; i < 400 && receiver.spans.every((s) => s.traceId !== traceId || s.kind !== PRODUCER); i++) {
    await exported()
    await sleep(50)
  }
  const publish = receiver.spans.find((s) => s.traceId === traceId && s.kind === PRODUCER)
  const commit = receiver.spans.find((s) => s.traceId === traceId && s.kind === SERVER)
  t.equal(publish?.parentSpanId, commit?.spanId, 'child of the request\'s span')
  t.equal(publish?.name, 'publish person.created')
  t.match(publish?.attributes, { 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'send', 'messaging.destination.name': 'person.created', 'messaging.message.id': event?.id })
  await consumer.until((received) => received.some((m) => m.event.id === event?.id))
  t.pass('and the event reached RabbitMQ')
})
