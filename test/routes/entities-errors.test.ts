import t from 'tap'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import { buildApp } from '../../src/app.js'
import { createDynamoClient } from '../../src/storage/client.js'
import { Person } from '../../src/models/person.js'
import { setup, json, etag } from '../support/helper.js'
import { assertProblem, createPerson, newId, PROBLEM_TYPE } from './support.js'

const VALID = { first_name: 'Ada', last_name: 'Lovelace' }

t.test('malformed bodies', async (t) => {
  const ctx = await setup(t)
  const { app } = ctx

  t.test('invalid JSON → 400', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: '{"first_name": "Ada", ' })
    assertProblem(t, res, 400, { code: 'VERSO_MALFORMED_JSON', instance: '/person' })
  })

  t.test('empty body with application/json → 400', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: '' })
    assertProblem(t, res, 400)
  })

  t.test('no body at all → 400', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/person' })
    assertProblem(t, res, 400)
  })

  t.test('array body → 400', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: JSON.stringify([VALID]) })
    assertProblem(t, res, 400, { code: 'VERSO_VALIDATION_FAILED' })
  })

  t.test('scalar and null bodies → 400', async (t) => {
    for (const payload of ['"text"', '42', 'null', 'true']) {
      const res = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload })
      assertProblem(t, res, 400)
    }
  })

  t.test('unknown field → 400 naming it', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/person', payload: { ...VALID, nickname: 'Ada', email: 'a@b.c' } })
    const problem = assertProblem(t, res, 400, { code: 'VERSO_VALIDATION_FAILED', paths: ['/body/nickname', '/body/email'] })
    t.ok((problem.errors as Array<{ message: string }>).every((e) => e.message.length > 0))
  })

  t.test('wrong types are not coerced', async (t) => {
    const cases: Array<[string, unknown]> = [
      ['age', '12'], ['age', 12.5], ['age', true], ['age', -1], ['age', 201],
      ['first_name', 12], ['first_name', ''], ['first_name', 'x'.repeat(201)], ['first_name', ['Ada']],
      ['metadata', 'text'], ['metadata', [1, 2]], ['metadata', 7]
    ]
    for (const [field, value] of cases) {
      const res = await app.inject({ method: 'POST', url: '/person', payload: { ...VALID, [field]: value } })
      assertProblem(t, res, 400, { code: 'VERSO_VALIDATION_FAILED', paths: [`/body/${field}`] })
    }
  })

  t.test('several errors are all reported', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/person', payload: { first_name: 1, age: '12', extra: true } })
    const problem = assertProblem(t, res, 400, { paths: ['/body/first_name', '/body/last_name', '/body/age', '/body/extra'] })
    t.ok(problem.errors.length >= 4)
  })

  t.test('__proto__ key → 400', async (t) => {
    const res = await app.inject({
      method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: '{"first_name":"Ada","last_name":"Lovelace","__proto__":{"admin":true}}'
    })
    assertProblem(t, res, 400)
    const nested = await app.inject({
      method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: '{"first_name":"Ada","last_name":"Lovelace","metadata":{"__proto__":{"admin":true}}}'
    })
    assertProblem(t, nested, 400)
  })

  t.test('constructor.prototype key never reaches storage as a prototype change', async (t) => {
    const res = await app.inject({
      method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: '{"first_name":"Ada","last_name":"Lovelace","constructor":{"prototype":{"admin":true}}}'
    })
    assertProblem(t, res, 400)
    t.equal(({} as Record<string, unknown>).admin, undefined, 'Object.prototype untouched')
  })

  t.test('body over 1 MiB → 413', async (t) => {
    const big = JSON.stringify({ ...VALID, metadata: { blob: 'x'.repeat(1024 * 1024) } })
    const res = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: big })
    assertProblem(t, res, 413, { code: 'VERSO_BODY_TOO_LARGE' })
  })

  t.test('an entity over what one DynamoDB item holds → 413, nothing written', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/person', payload: { ...VALID, metadata: { blob: 'x'.repeat(500 * 1024) } } })
    assertProblem(t, res, 413)
  })

  t.test('unsupported content types → 415', async (t) => {
    const plain = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(VALID) })
    assertProblem(t, plain, 415, { code: 'VERSO_UNSUPPORTED_MEDIA_TYPE' })
    const form = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'first_name=Ada' })
    assertProblem(t, form, 415)
    const mergePatch = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(VALID) })
    assertProblem(t, mergePatch, 415, { code: 'VERSO_UNSUPPORTED_MEDIA_TYPE' })
    const created = await createPerson(app)
    const put = await app.inject({
      method: 'PUT', url: `/person/${created.entity_id}`, headers: { 'content-type': 'text/plain', 'if-match': etag(created.version) }, payload: JSON.stringify(VALID)
    })
    assertProblem(t, put, 415)
  })

  t.test('a charset parameter on application/json is fine', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json; charset=utf-8' }, payload: JSON.stringify(VALID) })
    t.equal(res.statusCode, 201)
  })

  t.test('none of the refused requests wrote anything but the two creates', async (t) => {
    const rows = await ctx.scan(ctx.tables(Person).main)
    t.equal(rows.length, 2)
  })
})

t.test('server-managed fields', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const url = `/person/${created.entity_id}`
  const headers = { 'if-match': etag(created.version) }

  t.test('on POST: active, changed_on, previous_version, changed_by_id, version → 400 naming them', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/person',
      payload: { ...VALID, active: false, changed_on: created.changed_on, previous_version: created.version, changed_by_id: newId(), version: newId() }
    })
    const problem = assertProblem(t, res, 400, {
      code: 'VERSO_SERVER_MANAGED_FIELD',
      paths: ['/body/active', '/body/changed_on', '/body/previous_version', '/body/changed_by_id', '/body/version']
    })
    for (const f of ['active', 'changed_on', 'previous_version', 'changed_by_id', 'version']) t.match(problem.detail, f)
  })

  t.test('null values of server-managed fields are refused too', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/person', payload: { ...VALID, active: null } })
    assertProblem(t, res, 400, { paths: ['/body/active'] })
  })

  t.test('entity_id on PUT and PATCH → 400', async (t) => {
    const put = await app.inject({ method: 'PUT', url, headers, payload: { ...VALID, entity_id: created.entity_id } })
    assertProblem(t, put, 400, { code: 'VERSO_SERVER_MANAGED_FIELD', paths: ['/body/entity_id'] })
    const patch = await app.inject({ method: 'PATCH', url, headers, payload: { entity_id: newId() } })
    assertProblem(t, patch, 400, { code: 'VERSO_SERVER_MANAGED_FIELD', paths: ['/body/entity_id'] })
    const mergePatch = await app.inject({
      method: 'PATCH', url, headers: { ...headers, 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ active: true, changed_on: null })
    })
    assertProblem(t, mergePatch, 400, { code: 'VERSO_SERVER_MANAGED_FIELD', paths: ['/body/active', '/body/changed_on'] })
  })

  t.test('server-managed fields are checked before the precondition', async (t) => {
    const res = await app.inject({ method: 'PATCH', url, payload: { active: true } })
    assertProblem(t, res, 400, { code: 'VERSO_SERVER_MANAGED_FIELD' })
  })
})

t.test('unknown routes and models → 404 problem', async (t) => {
  const { app } = await setup(t)
  const cases: Array<[string, string]> = [
    ['GET', '/nosuch'],
    ['GET', `/nosuch/${newId()}`],
    ['POST', '/nosuch'],
    ['GET', '/'],
    ['GET', `/person/${newId()}/nope`],
    ['DELETE', '/person']
  ]
  for (const [method, url] of cases) {
    const res = await app.inject({ method: method as 'GET', url, ...(method === 'POST' ? { payload: VALID } : {}) })
    const problem = assertProblem(t, res, 404, { code: 'VERSO_ROUTE_NOT_FOUND' })
    t.equal(problem.instance, url)
  }
  const withQuery = await app.inject({ method: 'GET', url: '/nosuch?secret=hunter2' })
  const problem = assertProblem(t, withQuery, 404)
  t.equal(problem.instance, '/nosuch', 'instance is the path without the query')
  t.notMatch(withQuery.body, 'hunter2', 'the query string is not echoed')
})

t.test('x-request-id', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const responses = [
    await app.inject({ method: 'POST', url: '/person', payload: VALID }),
    await app.inject({ method: 'GET', url: `/person/${created.entity_id}` }),
    await app.inject({ method: 'GET', url: `/person/${created.entity_id}`, headers: { 'if-none-match': etag(created.version) } }),
    await app.inject({ method: 'GET', url: '/person' }),
    await app.inject({ method: 'GET', url: `/person/${newId()}` }),
    await app.inject({ method: 'GET', url: '/nosuch' }),
    await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: '{' }),
    await app.inject({ method: 'PUT', url: `/person/${created.entity_id}`, payload: VALID }),
    await app.inject({ method: 'GET', url: '/health/live' })
  ]
  const seen = new Set<string>()
  for (const res of responses) {
    const id = res.headers['x-request-id']
    t.type(id, 'string', `x-request-id on ${res.statusCode}`)
    t.ok(String(id).length > 0)
    seen.add(String(id))
  }
  t.equal(seen.size, responses.length, 'a new id per request when none is given')

  const given = 'req-abc.123:XYZ_9'
  const reused = await app.inject({ method: 'GET', url: `/person/${created.entity_id}`, headers: { 'x-request-id': given } })
  t.equal(reused.headers['x-request-id'], given, 'a valid given id is echoed')
  const reusedError = await app.inject({ method: 'GET', url: `/person/${newId()}`, headers: { 'x-request-id': given } })
  t.equal(reusedError.headers['x-request-id'], given, 'and on errors')
  t.equal(json(reusedError).request_id, given, 'the problem names the request id')

  const invalid = await app.inject({ method: 'GET', url: '/person', headers: { 'x-request-id': 'bad id with spaces <script>' } })
  t.not(invalid.headers['x-request-id'], 'bad id with spaces <script>', 'an invalid id is replaced')
  t.match(invalid.headers['x-request-id'], /^[A-Za-z0-9._:-]{1,128}$/)
  const tooLong = await app.inject({ method: 'GET', url: '/person', headers: { 'x-request-id': 'a'.repeat(129) } })
  t.not(tooLong.headers['x-request-id'], 'a'.repeat(129), 'an over-long id is replaced')
})

t.test('every problem has the same members and content type', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const url = `/person/${created.entity_id}`
  const stale = await app.inject({ method: 'PUT', url, headers: { 'if-match': etag(newId()) }, payload: VALID })
  const problem = assertProblem(t, stale, 412)
  t.match(stale.headers['content-type'], PROBLEM_TYPE)
  t.match(problem.type, /^urn:verso:problem:|^https?:\/\//, 'type is a URI')
  t.equal(problem.instance, url)
})

t.test('an unexpected storage failure is a bare 500 problem that hides internals', async (t) => {
  const ctx = await setup(t)
  const created = await createPerson(ctx.app)
  await ctx.client.send(new DeleteTableCommand({ TableName: ctx.tables(Person).main }))
  const res = await ctx.app.inject({ method: 'GET', url: `/person/${created.entity_id}` })
  const problem = assertProblem(t, res, 500, { code: 'VERSO_INTERNAL' })
  t.notMatch(res.body, ctx.tables(Person).main, 'no table name')
  t.notMatch(res.body, /ResourceNotFound|DynamoDB|non-existent/i, 'no storage error text')
  t.equal(problem.request_id, res.headers['x-request-id'], 'names the request id to look up in the logs')
})

t.test('DynamoDB not reachable → 503 problem with Retry-After', async (t) => {
  const client = createDynamoClient({ endpoint: 'http://127.0.0.1:9' })
  const app = await buildApp({
    config: { TABLE_PREFIX: 'unreachable_', OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1024 * 1024, REQUEST_TIMEOUT_MS: 30000 },
    dynamo: client
  })
  t.teardown(async () => {
    await app.close()
    client.destroy()
  })
  const res = await app.inject({ method: 'GET', url: `/person/${newId()}` })
  assertProblem(t, res, 503, { code: 'VERSO_STORAGE_UNAVAILABLE' })
  t.ok(res.headers['retry-after'], 'Retry-After header')
  t.notMatch(res.body, /127\.0\.0\.1|ECONNREFUSED/, 'no connection details')
  const write = await app.inject({ method: 'POST', url: '/person', payload: VALID })
  assertProblem(t, write, 503)
})
