import t from 'tap'
import { buildApp } from '../../src/app.js'
import { createDynamoClient } from '../../src/storage/client.js'

t.test('DynamoDB unreachable: 503 problem+json, no internals, readiness says so', async (t) => {
  const client = createDynamoClient({ endpoint: 'http://127.0.0.1:1' })
  const app = await buildApp({
    config: { TABLE_PREFIX: 'x_', OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1 << 20, REQUEST_TIMEOUT_MS: 30000 },
    dynamo: client,
    ownsClient: true
  })
  t.teardown(async () => { await app.close() })
  const id = 'b'.repeat(32)
  const requests = [
    { method: 'GET' as const, url: `/person/${id}` },
    { method: 'GET' as const, url: '/person' },
    { method: 'POST' as const, url: '/person', payload: { first_name: 'A', last_name: 'B' } },
    { method: 'PUT' as const, url: `/person/${id}`, headers: { 'if-match': `"${'c'.repeat(32)}"` }, payload: { first_name: 'A', last_name: 'B' } },
    { method: 'GET' as const, url: '/health/ready' }
  ]
  for (const request of requests) {
    const res = await app.inject(request)
    t.equal(res.statusCode, 503, `${request.method} ${request.url}`)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.equal(res.headers['retry-after'], '1')
    const body = JSON.parse(res.body)
    t.equal(body.code, 'VERSO_STORAGE_UNAVAILABLE')
    t.notMatch(res.body, /ECONNREFUSED|127\.0\.0\.1:1|at .*\.js/, 'no internal detail')
  }
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'liveness does not depend on DynamoDB')
})
