import t, { type Test } from 'tap'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { ConfigError, loadConfig } from '../../src/config/config.js'
import { createDynamoClient } from '../../src/storage/client.js'
import { endpoint, json, setup } from '../support/helper.js'
import { assertProblem } from '../routes/support.js'
import { send } from '../../chaos/fuzz/send.js'
import { LINGER_MS } from '../../src/http/lingering-close.js'
import { Agent } from 'undici'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { startVerso } from '../../chaos/harness.js'

const PERSON = { first_name: 'Ada', last_name: 'Lovelace' }
const MiB = 1024 * 1024

/** After a refusal the service is still well: liveness, and a create read back as written. */
async function assertHealthy (t: Test, app: FastifyInstance): Promise<void> {
  const live = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(live.statusCode, 200, 'liveness answers 200')
  const created = await app.inject({ method: 'POST', url: '/person', payload: { ...PERSON, metadata: { ok: [1, { b: 2 }] } } })
  t.equal(created.statusCode, 201, 'a create succeeds')
  const read = await app.inject({ method: 'GET', url: String(created.headers.location) })
  t.equal(read.statusCode, 200, 'and reads back')
  t.same(json(read), json(created), 'as it was written')
}

/** `{"a":{"a":…leaf…}}`: `levels` objects nested in each other. */
const nested = (levels: number, leaf = '1'): string => '{"a":'.repeat(levels) + leaf + '}'.repeat(levels)

/** A request on a real socket, body sent with Transfer-Encoding: chunked (no Content-Length). */
async function chunked (port: number, method: string, path: string, contentType: string, chunks: number, chunk: string): Promise<{ status: number, headers: Record<string, unknown>, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
    })
    req.on('error', reject)
    let sent = 0
    const write = (): void => {
      while (sent < chunks) {
        sent++
        if (!req.write(chunk)) {
          req.once('drain', write)
          return
        }
      }
      req.end()
    }
    write()
  })
}

t.test('body size limit: 413 problem for every JSON media type, with or without Content-Length', async (t) => {
  const ctx = await setup(t)
  const { app } = ctx
  const big = JSON.stringify({ ...PERSON, metadata: { blob: 'x'.repeat(MiB) } })

  const post = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: big })
  assertProblem(t, post, 413, { code: 'VERSO_BODY_TOO_LARGE' })

  const created = await app.inject({ method: 'POST', url: '/person', payload: PERSON })
  const url = String(created.headers.location)
  const patch = await app.inject({ method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json', 'if-match': String(created.headers.etag) }, payload: big })
  assertProblem(t, patch, 413, { code: 'VERSO_BODY_TOO_LARGE' })
  const put = await app.inject({ method: 'PUT', url, headers: { 'content-type': 'application/json; charset=utf-8', 'if-match': String(created.headers.etag) }, payload: big })
  assertProblem(t, put, 413, { code: 'VERSO_BODY_TOO_LARGE' })

  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const chunk = 'x'.repeat(64 * 1024)
  for (const [method, path, type] of [['POST', '/person', 'application/json'], ['PATCH', url, 'application/merge-patch+json']] as const) {
    // 2 MiB of chunks without a Content-Length: refused once the limit is crossed, not buffered whole.
    const res = await chunked(port, method, path, type, 32, chunk)
    t.equal(res.status, 413, `${method} chunked: 413`)
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${method} chunked: problem+json`)
    t.match(JSON.parse(res.body), { status: 413, code: 'VERSO_BODY_TOO_LARGE' })
  }
  // A chunked body under the limit is read whole and served.
  const small = await chunked(port, 'POST', '/person', 'application/json', 1, JSON.stringify(PERSON))
  t.equal(small.status, 201, 'a small chunked body is served')
  await assertHealthy(t, app)
})

t.test('an oversized body is answered 413 while the client is still sending it, not reset (lingering close)', async (t) => {
  // verso in a process of its own, as in production: in one process the client and the server take turns on
  // one event loop, and the race this is about does not happen.
  const verso = await startVerso({ dynamo: endpoint(), prefix: `linger_${randomBytes(3).toString('hex')}_` })
  t.teardown(verso.stop)
  const head = 'POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n'
  const withLength = Buffer.from(`${head}Content-Length: ${10 * MiB}\r\n\r\n${'x'.repeat(10 * MiB)}`)
  const chunk = `10000\r\n${'w'.repeat(0x10000)}\r\n`
  const chunkedBody = Buffer.from(`${head}Transfer-Encoding: chunked\r\n\r\n${chunk.repeat(160)}0\r\n\r\n`)
  // Before the lingering close, about half of these lost their 413 to a connection reset.
  const agent = new Agent()
  t.teardown(async () => { await agent.close() })
  for (const [label, bytes] of [['Content-Length', withLength], ['chunked', chunkedBody]] as const) {
    const statuses: Array<number | string> = []
    for (let i = 0; i < 12; i++) {
      const outcome = await send(agent, verso.base, { label, method: 'POST', path: '/person', raw: bytes }, 10_000)
      statuses.push('answer' in outcome ? outcome.answer.status : outcome.failure)
    }
    t.same(statuses, Array(12).fill(413), `10 MiB with ${label}: 12 of 12 clients read their 413`)
  }

  // A client that never stops sending, and does not close its side when verso closes its own, is not kept:
  // the connection closes at the lingering time (the test's own cut-off, far later, keeps a regression from hanging).
  const started = Date.now()
  const trickle = await new Promise<{ answer: string, ms: number }>((resolve) => {
    let answer = ''
    const socket = connect({ port: Number(new URL(verso.base).port), host: '127.0.0.1', allowHalfOpen: true }, () => {
      socket.write(`${head}Transfer-Encoding: chunked\r\n\r\n`)
      const timer = setInterval(() => { if (socket.writable) socket.write(chunk) }, 5)
      const cutOff = setTimeout(() => { socket.destroy() }, LINGER_MS + 10_000)
      socket.on('close', () => { clearInterval(timer); clearTimeout(cutOff); resolve({ answer, ms: Date.now() - started }) })
    })
    socket.on('data', (data: Buffer) => { answer += data.toString('latin1') })
    socket.on('error', () => {})
  })
  t.match(trickle.answer, /^HTTP\/1\.1 413 /, 'the endless sender got its 413')
  t.ok(trickle.ms >= LINGER_MS && trickle.ms < LINGER_MS + 3000, `and was disconnected after ${trickle.ms} ms (lingering lasts ${LINGER_MS} ms)`)

  // A request pipelined behind a refused one on a keep-alive connection is not served while verso lingers: the
  // 413 closed the connection, and whatever follows is dropped unparsed (RFC 9112 §9.6).
  const created = await agent.request({ origin: verso.base, method: 'POST', path: '/person', headers: { 'content-type': 'application/json' }, body: JSON.stringify(PERSON) })
  const person = await created.body.json() as { entity_id: string, version: string }
  const put = JSON.stringify({ ...PERSON, last_name: 'Pipelined' })
  const pipelined = Buffer.from([
    `POST /person HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${2 * MiB}\r\n\r\n${'x'.repeat(2 * MiB)}`,
    `PUT /person/${person.entity_id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nIf-Match: "${person.version}"\r\nContent-Length: ${put.length}\r\n\r\n${put}`
  ].join(''))
  const refused = await send(agent, verso.base, { label: 'pipelined', method: 'POST', path: '/person', raw: pipelined }, 10_000)
  t.equal('answer' in refused ? refused.answer.status : refused.failure, 413, 'the oversized POST is refused')
  await sleep(500)
  const after = await agent.request({ origin: verso.base, method: 'GET', path: `/person/${person.entity_id}` })
  t.match(await after.body.json(), { version: person.version, last_name: PERSON.last_name }, 'the PUT behind it was not served')
  const read = await agent.request({ origin: verso.base, method: 'GET', path: '/health/ready' })
  t.equal(read.statusCode, 200, 'verso is still ready')
  await read.body.dump()
})

t.test('nesting depth: 4xx problem, never a stack overflow or a 500', async (t) => {
  const { app } = await setup(t)
  const person = (metadata: string): string => `{"first_name":"Ada","last_name":"Lovelace","metadata":${metadata}}`
  const cases: Array<[string, string, string, string]> = [
    ['10,000 nested objects in a field', '/person', 'application/json', person(nested(10_000))],
    ['10,000 nested arrays in a field', '/person', 'application/json', person(`{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`)],
    ['100,000 nested objects as the body', '/person', 'application/json', nested(100_000)],
    ['an array of 10,000 nested arrays as the body', '/person', 'application/json', '['.repeat(10_000) + ']'.repeat(10_000)]
  ]
  for (const [name, url, type, payload] of cases) {
    const res = await app.inject({ method: 'POST', url, headers: { 'content-type': type }, payload })
    t.comment(name)
    assertProblem(t, res, 400, { code: 'VERSO_BODY_TOO_DEEP' })
  }

  const created = await app.inject({ method: 'POST', url: '/person', payload: PERSON })
  const patch = await app.inject({
    method: 'PATCH',
    url: String(created.headers.location),
    headers: { 'content-type': 'application/merge-patch+json', 'if-match': String(created.headers.etag) },
    payload: person(nested(10_000))
  })
  assertProblem(t, patch, 400, { code: 'VERSO_BODY_TOO_DEEP' })

  // The body is level 1 and metadata level 2: 30 more objects inside make 32 levels, the default limit.
  const atLimit = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: person(nested(31)) })
  t.equal(atLimit.statusCode, 201, '32 levels are accepted')
  t.same(json(atLimit).metadata, JSON.parse(nested(31)), 'and stored whole')
  const over = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: person(nested(32)) })
  assertProblem(t, over, 400, { code: 'VERSO_BODY_TOO_DEEP' })
  await assertHealthy(t, app)
})

t.test('field count: object members and array elements at every level', async (t) => {
  const { app } = await setup(t, { config: { BODY_MAX_FIELDS: 100 } })
  const keys = (n: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))
  // first_name, last_name and metadata are 3; 97 keys inside metadata make 100.
  const atLimit = await app.inject({ method: 'POST', url: '/person', payload: { ...PERSON, metadata: keys(97) } })
  t.equal(atLimit.statusCode, 201, '100 fields are accepted')
  const over = await app.inject({ method: 'POST', url: '/person', payload: { ...PERSON, metadata: keys(98) } })
  assertProblem(t, over, 400, { code: 'VERSO_BODY_TOO_MANY_FIELDS' })
  const deepKeys = await app.inject({ method: 'POST', url: '/person', payload: { ...PERSON, metadata: { a: { b: keys(60) }, c: keys(40) } } })
  assertProblem(t, deepKeys, 400, { code: 'VERSO_BODY_TOO_MANY_FIELDS' })
  const elements = await app.inject({ method: 'POST', url: '/person', payload: { ...PERSON, metadata: { list: Array.from({ length: 200 }, () => 0) } } })
  assertProblem(t, elements, 400, { code: 'VERSO_BODY_TOO_MANY_FIELDS' })
  // Within the 1 MiB body limit, half a million fields: refused after counting, cheaply.
  const wide = `{"first_name":"Ada","last_name":"Lovelace","metadata":{"x":[${Array.from({ length: 500_000 }, () => '0').join(',')}]}}`
  const started = Date.now()
  const huge = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: wide })
  assertProblem(t, huge, 400, { code: 'VERSO_BODY_TOO_MANY_FIELDS' })
  t.ok(Date.now() - started < 2000, `refused in ${Date.now() - started} ms`)
  await assertHealthy(t, app)
})

t.test('the default field limit is 1000', async (t) => {
  const { app } = await setup(t)
  const keys = (n: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))
  const atLimit = await app.inject({ method: 'POST', url: '/person', payload: { ...PERSON, metadata: keys(997) } })
  t.equal(atLimit.statusCode, 201, '1000 fields are accepted')
  const over = await app.inject({ method: 'POST', url: '/person', payload: { ...PERSON, metadata: keys(998) } })
  assertProblem(t, over, 400, { code: 'VERSO_BODY_TOO_MANY_FIELDS' })
})

t.test('rate limit: 429 problem with Retry-After and RateLimit headers, per caller', async (t) => {
  const { app } = await setup(t, { config: { RATE_LIMIT_MAX: 3, RATE_LIMIT_WINDOW_MS: 60_000 } })
  const created = await app.inject({ method: 'POST', url: '/person', payload: PERSON })
  t.equal(created.statusCode, 201)
  t.equal(created.headers['ratelimit-limit'], '3', 'RateLimit-Limit on a served request')
  t.equal(created.headers['ratelimit-remaining'], '2', 'RateLimit-Remaining counts down')
  t.ok(Number(created.headers['ratelimit-reset']) > 0, 'RateLimit-Reset in seconds')
  const url = String(created.headers.location)
  for (let i = 0; i < 2; i++) t.equal((await app.inject({ method: 'GET', url })).statusCode, 200)

  const refused = await app.inject({ method: 'GET', url })
  const body = assertProblem(t, refused, 429, { code: 'VERSO_RATE_LIMITED' })
  t.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 60, `Retry-After ${String(refused.headers['retry-after'])}`)
  t.equal(body.retry_after_s, Number(refused.headers['retry-after']), 'the body says the same')
  t.equal(refused.headers['ratelimit-limit'], '3')
  t.equal(refused.headers['ratelimit-remaining'], '0')
  t.equal(refused.headers['x-content-type-options'], 'nosniff', 'security headers on the refusal too')
  t.notMatch(refused.body, /Rate limit exceeded/, 'not the plugin\'s own message')

  const otherClient = await app.inject({ method: 'GET', url, remoteAddress: '10.1.2.3' })
  t.equal(otherClient.statusCode, 200, 'another address has its own budget')
  const live = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(live.statusCode, 200, 'health routes are never limited')
  t.equal(live.headers['ratelimit-limit'], undefined, 'and carry no RateLimit headers')
  t.equal((await app.inject({ method: 'GET', url: '/docs/json' })).statusCode, 200, 'nor the docs')
})

t.test('rate limit keys on the authenticated caller, set by an earlier onRequest hook', async (t) => {
  const client = createDynamoClient({ endpoint: endpoint() })
  const app = await buildApp({
    config: { TABLE_PREFIX: 'unused_', OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: MiB, REQUEST_TIMEOUT_MS: 30000, RATE_LIMIT_MAX: 2 },
    dynamo: client
  })
  // Stands in for authentication: an instance-level onRequest hook, added after the rate-limit plugin.
  app.addHook('onRequest', async (request) => {
    const caller = request.headers['x-test-caller']
    if (typeof caller === 'string') request.callerId = caller
  })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    client.destroy()
  })
  // A malformed id is refused by validation, after the rate limit has counted it: no DynamoDB call needed.
  const as = async (caller?: string): Promise<number> =>
    (await app.inject({ method: 'GET', url: '/person/not-an-id', headers: caller === undefined ? {} : { 'x-test-caller': caller } })).statusCode
  t.same([await as('alice'), await as('alice'), await as('alice')], [400, 400, 429], 'alice: 2 requests, then 429')
  t.same([await as('bob'), await as('bob')], [400, 400], 'bob from the same address has his own budget')
  t.same([await as(), await as(), await as()], [400, 400, 429], 'anonymous callers share their address\'s budget')
})

t.test('rate limiting is off by default', async (t) => {
  const { app } = await setup(t)
  for (let i = 0; i < 30; i++) {
    const res = await app.inject({ method: 'GET', url: '/person/not-an-id' })
    if (res.statusCode !== 400 || res.headers['ratelimit-limit'] !== undefined) {
      t.fail(`request ${i}: ${res.statusCode} ${String(res.headers['ratelimit-limit'])}`)
      return
    }
  }
  t.pass('30 requests, no 429 and no RateLimit headers')
})

t.test('CORS: preflight and exposed headers when CORS_ORIGINS is set', async (t) => {
  const { app } = await setup(t, { config: { CORS_ORIGINS: 'https://app.example, https://admin.example:8443' } })
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/person/0123456789abcdef0123456789abcdef',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'content-type, if-match, idempotency-key, authorization' }
  })
  t.equal(preflight.statusCode, 204, 'preflight answered 204')
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example')
  t.match(preflight.headers['access-control-allow-methods'], /PATCH/)
  const allowed = String(preflight.headers['access-control-allow-headers']).toLowerCase().split(/\s*,\s*/)
  for (const h of ['if-match', 'if-none-match', 'idempotency-key', 'authorization', 'content-type']) t.ok(allowed.includes(h), `allows ${h}`)
  t.equal(preflight.headers['access-control-max-age'], '600')
  t.equal(preflight.headers['access-control-allow-credentials'], undefined, 'no cookies')

  const created = await app.inject({ method: 'POST', url: '/person', headers: { origin: 'https://admin.example:8443' }, payload: PERSON })
  t.equal(created.statusCode, 201)
  t.equal(created.headers['access-control-allow-origin'], 'https://admin.example:8443')
  const exposed = String(created.headers['access-control-expose-headers']).toLowerCase().split(/\s*,\s*/)
  for (const h of ['etag', 'location', 'x-request-id', 'idempotent-replayed', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after']) t.ok(exposed.includes(h), `exposes ${h}`)
  t.match(created.headers.vary, /origin/i, 'Vary: Origin')

  const stranger = await app.inject({ method: 'GET', url: String(created.headers.location), headers: { origin: 'https://evil.example' } })
  t.equal(stranger.statusCode, 200, 'the request itself is served (CORS is the browser\'s check)')
  t.equal(stranger.headers['access-control-allow-origin'], undefined, 'but no other origin is allowed')
})

t.test('CORS: * allows any origin', async (t) => {
  const { app } = await setup(t, { config: { CORS_ORIGINS: '*' } })
  const res = await app.inject({ method: 'GET', url: '/health/live', headers: { origin: 'https://anything.example' } })
  t.equal(res.headers['access-control-allow-origin'], '*')
})

t.test('CORS is off by default', async (t) => {
  const { app } = await setup(t)
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/person',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' }
  })
  t.equal(preflight.headers['access-control-allow-origin'], undefined, 'no CORS headers on a preflight')
  assertProblem(t, preflight, 404, { code: 'VERSO_ROUTE_NOT_FOUND' })
  const get = await app.inject({ method: 'GET', url: '/health/live', headers: { origin: 'https://app.example' } })
  t.equal(get.headers['access-control-allow-origin'], undefined, 'nor on a request')
})

t.test('security headers: strict on the API, a working policy on Swagger UI', async (t) => {
  const { app } = await setup(t)
  const created = await app.inject({ method: 'POST', url: '/person', payload: PERSON })
  const notFound = await app.inject({ method: 'GET', url: '/nowhere' })
  const invalid = await app.inject({ method: 'POST', url: '/person', payload: { first_name: 1 } })
  for (const [name, res] of [['201', created], ['404', notFound], ['400', invalid]] as const) {
    const csp = String(res.headers['content-security-policy'])
    t.match(csp, /default-src 'none'/, `${name}: CSP allows nothing`)
    t.match(csp, /frame-ancestors 'none'/, `${name}: no framing`)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${name}: nosniff`)
    t.equal(res.headers['x-frame-options'], 'DENY', `${name}: X-Frame-Options`)
    t.equal(res.headers['referrer-policy'], 'no-referrer', `${name}: Referrer-Policy`)
    t.match(res.headers['strict-transport-security'], /max-age=\d+/, `${name}: HSTS`)
    t.equal(res.headers['cross-origin-resource-policy'], 'same-origin', `${name}: CORP`)
  }
  const docs = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(docs.statusCode, 200)
  const csp = String(docs.headers['content-security-policy'])
  t.match(csp, /script-src 'self'/, 'docs may run their own scripts')
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'but no inline script')
  t.notMatch(csp, /upgrade-insecure-requests/, 'and plain HTTP keeps working')
  t.equal(docs.headers['x-content-type-options'], 'nosniff', 'docs keep the other headers')
})

t.test('under pressure: 503 problem with Retry-After while the event loop lags; liveness stays up', async (t) => {
  const { app } = await setup(t, { config: { MAX_EVENT_LOOP_DELAY_MS: 100 } })
  const created = await app.inject({ method: 'POST', url: '/person', payload: PERSON })
  t.equal(created.statusCode, 201, 'served while the loop is idle')

  // Block the loop for 200 ms at a time, for about 2.5 s: under-pressure samples the delay every second.
  const blockUntil = Date.now() + 2500
  while (Date.now() < blockUntil) {
    const end = Date.now() + 200
    while (Date.now() < end) { /* busy */ }
    await new Promise((resolve) => setImmediate(resolve))
  }
  const shed = await app.inject({ method: 'GET', url: String(created.headers.location) })
  const body = assertProblem(t, shed, 503, { code: 'VERSO_OVERLOADED' })
  t.equal(shed.headers['retry-after'], '5', 'Retry-After')
  t.equal(body.retry_after_s, 5)
  t.equal(shed.headers['x-content-type-options'], 'nosniff', 'security headers on the 503')
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'liveness: 200 (busy is not dead)')
  assertProblem(t, await app.inject({ method: 'GET', url: '/health/ready' }), 503, { code: 'VERSO_OVERLOADED' })

  // Idle again: the next samples clear the pressure.
  const deadline = Date.now() + 5000
  let status = 503
  while (status === 503 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    status = (await app.inject({ method: 'GET', url: '/health/ready' })).statusCode
  }
  t.equal(status, 200, 'ready again once the loop is idle')
  await assertHealthy(t, app)
})

t.test('timeouts: keep-alive outlives a load balancer\'s idle timeout; slow headers get a 408 problem', async (t) => {
  const client = createDynamoClient({ endpoint: 'http://127.0.0.1:1' })
  const base = { TABLE_PREFIX: 'x_', OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: MiB, REQUEST_TIMEOUT_MS: 30000 }
  const defaults = await buildApp({ config: base, dynamo: client })
  t.equal(defaults.server.keepAliveTimeout, 72_000, 'keep-alive 72 s by default (ALB idle timeout is 60 s)')
  t.equal(defaults.server.headersTimeout, 10_000, 'headers within 10 s by default')
  t.equal(defaults.server.requestTimeout, 30_000, 'the whole request within REQUEST_TIMEOUT_MS')
  await defaults.close()

  const app = await buildApp({ config: { ...base, REQUEST_TIMEOUT_MS: 5000, HEADERS_TIMEOUT_MS: 1000, KEEP_ALIVE_TIMEOUT_MS: 61_000 }, dynamo: client })
  t.teardown(async () => {
    await app.close()
    client.destroy()
  })
  t.equal(app.server.keepAliveTimeout, 61_000)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const started = Date.now()
  const answer = await new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n') })
    let text = ''
    socket.on('data', (c: Buffer) => { text += c.toString() })
    socket.on('close', () => { resolve(text) })
  })
  const elapsed = Date.now() - started
  t.match(answer, /^HTTP\/1\.1 408 /, 'headers never finished: 408')
  t.match(answer, /"code":"VERSO_REQUEST_TIMEOUT"/)
  t.ok(elapsed >= 900 && elapsed < 3500, `after about HEADERS_TIMEOUT_MS (${elapsed} ms)`)

  const capped = await buildApp({ config: { ...base, REQUEST_TIMEOUT_MS: 5000, HEADERS_TIMEOUT_MS: 20_000 }, dynamo: client })
  t.equal(capped.server.headersTimeout, 5000, 'the headers timeout never exceeds the request timeout')
  await capped.close()
})

t.test('configuration of the limits', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    BODY_MAX_DEPTH: 32,
    BODY_MAX_FIELDS: 1000,
    KEEP_ALIVE_TIMEOUT_MS: 72_000,
    HEADERS_TIMEOUT_MS: 10_000,
    RATE_LIMIT_MAX: 0,
    RATE_LIMIT_WINDOW_MS: 60_000,
    MAX_EVENT_LOOP_DELAY_MS: 1000,
    MAX_EVENT_LOOP_UTILIZATION: 0
  }, 'defaults')
  t.equal(config.CORS_ORIGINS, undefined, 'CORS off by default')
  t.match(loadConfig({ CORS_ORIGINS: 'https://a.example,http://localhost:5173', RATE_LIMIT_MAX: '100', MAX_EVENT_LOOP_UTILIZATION: '0.95' }), {
    CORS_ORIGINS: 'https://a.example,http://localhost:5173', RATE_LIMIT_MAX: 100, MAX_EVENT_LOOP_UTILIZATION: 0.95
  })
  for (const [variable, value] of [
    ['CORS_ORIGINS', 'a.example'], ['CORS_ORIGINS', 'https://a.example/path'], ['CORS_ORIGINS', 'https://a.example,,'],
    ['BODY_MAX_DEPTH', '1'], ['BODY_MAX_FIELDS', 'many'], ['RATE_LIMIT_MAX', '-1'], ['RATE_LIMIT_WINDOW_MS', '10'],
    ['MAX_EVENT_LOOP_DELAY_MS', '-5'], ['MAX_EVENT_LOOP_UTILIZATION', '1.5'], ['KEEP_ALIVE_TIMEOUT_MS', '0'], ['HEADERS_TIMEOUT_MS', '100']
  ] as const) {
    let error: unknown
    try {
      loadConfig({ [variable]: value })
    } catch (err) {
      error = err
    }
    t.ok(error instanceof ConfigError && error.variable === variable, `${variable}=${value} is refused, naming ${variable}`)
  }
})
