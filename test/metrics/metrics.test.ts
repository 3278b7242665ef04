import t from 'tap'
import { etag, json, setup } from '../support/helper.js'
import { parseExposition, sample, scrape } from './support.js'

const DURATION = 'verso_http_request_duration_seconds'
const DYNAMO = 'verso_dynamodb_request_duration_seconds_count'
const CANCELLED = 'verso_dynamodb_transaction_cancellations_total'

t.test('metrics are off unless asked for: no registry, no hook', async (t) => {
  const ctx = await setup(t)
  t.equal(ctx.app.metrics, null)
})

t.test('requests by method, route pattern and status; never on the API port', async (t) => {
  const ctx = await setup(t, { metrics: true })
  const { app } = ctx
  const created = json(await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace' } }))
  const id = String(created.entity_id)
  t.equal((await app.inject({ method: 'GET', url: `/person/${id}` })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: `/person/${id}` })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: `/person/${'f'.repeat(32)}` })).statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: '/no/such/route' })).statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'GET /metrics is not served by the API')

  const text = await scrape(app)
  t.equal(sample(text, `${DURATION}_count`, { method: 'POST', route: '/person', status_code: '201' }), 1)
  t.equal(sample(text, `${DURATION}_count`, { method: 'GET', route: '/person/:id', status_code: '200' }), 2)
  t.equal(sample(text, `${DURATION}_count`, { method: 'GET', route: '/person/:id', status_code: '404' }), 1)
  t.equal(sample(text, `${DURATION}_count`, { method: 'GET', route: 'unmatched', status_code: '404' }), 2, 'unmatched URLs share one series (/no/such/route and /metrics)')
  t.equal(sample(text, `${DURATION}_bucket`, { method: 'GET', route: '/person/:id', status_code: '200', le: '+Inf' }), 2, 'a histogram: +Inf bucket = count')
  const buckets = parseExposition(text).filter((s) => s.name === `${DURATION}_bucket` && s.labels.route === '/person/:id' && s.labels.status_code === '200')
  t.ok(buckets.length > 5 && buckets.every((b, i) => i === 0 || b.value >= (buckets[i - 1]?.value ?? 0)), 'cumulative buckets')
  t.ok(sample(text, `${DURATION}_sum`, { route: '/person' }) > 0, 'a latency sum')
  t.notMatch(text, id, 'no raw URL (entity id) in any label')
  t.match(text, /# TYPE verso_http_request_duration_seconds histogram/)
})

t.test('DynamoDB calls by operation: the round trips of each operation', async (t) => {
  const ctx = await setup(t, { metrics: true })
  const { app } = ctx
  const created = json(await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace' } }))
  let text = await scrape(app)
  t.equal(sample(text, DYNAMO, { operation: 'TransactWriteItems' }), 1, 'a create is one TransactWriteItems')
  t.equal(sample(text, DYNAMO), 1, 'and nothing else')

  await app.inject({ method: 'PATCH', url: `/person/${String(created.entity_id)}`, headers: { 'if-match': etag(created.version) }, payload: { age: 36 } })
  text = await scrape(app)
  t.equal(sample(text, DYNAMO, { operation: 'GetItem' }), 1, 'an update reads once…')
  t.equal(sample(text, DYNAMO, { operation: 'TransactWriteItems' }), 2, '…and writes once')
  t.equal(sample(text, 'verso_dynamodb_errors_total'), 0, 'no errors')
  t.ok(sample(text, 'verso_dynamodb_request_duration_seconds_sum', { operation: 'GetItem' }) > 0, 'a latency')
  t.match(text, /# TYPE verso_dynamodb_request_duration_seconds histogram/)
})

t.test('transaction cancellations by reason and table', async (t) => {
  const ctx = await setup(t, { metrics: true })
  const { app } = ctx
  const created = json(await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace' } }))
  const id = String(created.entity_id)

  t.equal((await app.inject({ method: 'POST', url: '/person', payload: { entity_id: id, first_name: 'Twin', last_name: 'X' } })).statusCode, 409)
  let text = await scrape(app)
  t.equal(sample(text, CANCELLED, { reason: 'ConditionalCheckFailed', table: 'entity' }), 1, 'a create on an existing id: the main item\'s condition')
  t.equal(sample(text, 'verso_dynamodb_errors_total', { operation: 'TransactWriteItems', error: 'TransactionCanceledException' }), 1)

  // A stale If-Match that loses the race: another writer commits between this write's read and its
  // transaction, so the transaction's `version = :read_version` condition cancels it (412).
  let raced = false
  const racer = 'testRacer'
  ctx.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'TransactWriteItemsCommand' && !raced) {
      raced = true
      const other = await app.inject({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(created.version) }, payload: { first_name: 'Other', last_name: 'Writer' } })
      t.equal(other.statusCode, 200, 'the other writer wins')
    }
    return await next(args)
  }, { step: 'initialize', name: racer, priority: 'high' })
  t.teardown(() => { ctx.client.middlewareStack.remove(racer) })
  const stale = await app.inject({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(created.version) }, payload: { first_name: 'Late', last_name: 'Writer' } })
  t.equal(stale.statusCode, 412, 'the stale If-Match is refused')
  text = await scrape(app)
  t.equal(sample(text, CANCELLED, { reason: 'ConditionalCheckFailed', table: 'entity' }), 2, 'the main item\'s version condition failed')
  t.equal(sample(text, CANCELLED, { reason: 'TransactionConflict' }), 0)

  // A stale If-Match caught by the read never reaches a transaction: a 412 in the HTTP metrics only.
  t.equal((await app.inject({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(created.version) }, payload: { first_name: 'A', last_name: 'B' } })).statusCode, 412)
  text = await scrape(app)
  t.equal(sample(text, CANCELLED, { table: 'entity' }), 2, 'no new cancellation')
  t.equal(sample(text, `${DURATION}_count`, { method: 'PUT', route: '/person/:id', status_code: '412' }), 2)
})

t.test('process metrics', async (t) => {
  const ctx = await setup(t, { metrics: true })
  const text = await scrape(ctx.app)
  for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
    t.match(text, new RegExp(`^${name} `, 'm'), name)
  }
})

t.test('each app has a registry of its own', async (t) => {
  const a = await setup(t, { metrics: true })
  const b = await setup(t, { metrics: true })
  await a.app.inject({ method: 'GET', url: '/health/live' })
  t.equal(sample(await scrape(a.app), `${DURATION}_count`, { route: '/health/live' }), 1)
  t.equal(sample(await scrape(b.app), `${DURATION}_count`, { route: '/health/live' }), 0)
})
