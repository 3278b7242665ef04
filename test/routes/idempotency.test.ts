import t from 'tap'
import { DescribeTimeToLiveCommand, GetItemCommand, PutItemCommand, TransactionCanceledException } from '@aws-sdk/client-dynamodb'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { durationSeconds } from '../../src/config/config.js'
import { canonicalJson, parseIdempotencyKey } from '../../src/http/idempotency-key.js'
import { Person } from '../../src/models/person.js'
import { idempotencyTable } from '../../src/storage/table-names.js'
import { callsOf, setup, json, etag, thrown, type TestContext } from '../support/helper.js'
import { assertProblem, ZERO_ID } from './support.js'

const ada = { first_name: 'Ada', last_name: 'Lovelace', age: 36 }

const post = async (app: FastifyInstance, key: string | undefined, payload: unknown = ada, headers: Record<string, string> = {}): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> =>
  await app.inject({ method: 'POST', url: '/person', payload: payload as object, headers: { ...headers, ...(key === undefined ? {} : { 'idempotency-key': key }) } })

const records = async (ctx: TestContext): Promise<Array<Record<string, unknown>>> => await ctx.scan(idempotencyTable(ctx.prefix))

t.test('20 concurrent POSTs with one key: one entity, one event, one answer 20 times', async (t) => {
  const ctx = await setup(t)
  const answers = await Promise.all(Array.from({ length: 20 }, async () => await post(ctx.app, 'concurrent-1')))
  t.same(answers.map((r) => r.statusCode), Array(20).fill(201), 'all 201')
  const first = answers[0]
  t.ok(first)
  for (const res of answers) {
    t.equal(res.body, first?.body, 'the same body, byte for byte')
    t.equal(res.headers.location, first?.headers.location, 'the same Location')
    t.equal(res.headers.etag, first?.headers.etag, 'the same ETag')
    t.match(res.headers['content-type'], /^application\/json/)
  }
  t.equal(answers.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 19, '19 replays')
  t.equal(answers.filter((r) => r.headers['idempotent-replayed'] === undefined).length, 1, 'one first answer, without the header')

  const rows = await ctx.scan(ctx.tables(Person).main)
  t.equal(rows.length, 1, 'one entity in the main table')
  const body = json(first ?? { body: '{}' })
  t.equal(rows[0]?.entity_id, body.entity_id)
  t.equal(rows[0]?.version, body.version)
  t.equal((await ctx.scan(ctx.outbox)).length, 1, 'one outbox event in all')
  const events = await ctx.events(String(body.entity_id))
  t.equal(events.length, 1)
  t.same(events[0]?.data, body, 'the event is the answer')
  t.equal((await records(ctx)).length, 1, 'one idempotency record')
})

t.test('the record: scoped key, fingerprint, TTL attribute and the answer to replay', async (t) => {
  const ctx = await setup(t)
  const before = Math.floor(Date.now() / 1000)
  const res = await post(ctx.app, '"quoted-key"')
  t.equal(res.statusCode, 201)
  t.equal(res.headers['idempotent-replayed'], undefined)
  const [record, ...others] = await records(ctx)
  t.equal(others.length, 0)
  t.equal(record?.pk, `${ZERO_ID} quoted-key`, 'the anonymous caller\'s key (the quotes of the Structured Field string are not part of it)')
  t.match(record?.fingerprint, /^[A-Za-z0-9_-]{43}$/, 'SHA-256, base64url')
  const expires = Number(record?.expires_at)
  t.ok(expires >= before + 86400 && expires <= Math.floor(Date.now() / 1000) + 86400, 'expires_at: epoch seconds, 24 h from now by default')
  const stored = JSON.parse(String(record?.response))
  t.same(stored, {
    status: 201,
    headers: { location: res.headers.location, etag: res.headers.etag, 'content-type': 'application/json; charset=utf-8' },
    body: res.body
  }, 'status, Location, ETag, Content-Type and the body')

  t.equal((await post(ctx.app, 'quoted-key')).headers['idempotent-replayed'], 'true', 'the bare form names the same key')

  const { TimeToLiveDescription } = await ctx.client.send(new DescribeTimeToLiveCommand({ TableName: idempotencyTable(ctx.prefix) }))
  t.equal(TimeToLiveDescription?.TimeToLiveStatus, 'ENABLED', 'TTL is on for the table')
  t.equal(TimeToLiveDescription?.AttributeName, 'expires_at')
})

t.test('the same key with another request is 422 and writes nothing', async (t) => {
  const ctx = await setup(t)
  const first = await post(ctx.app, 'k-422')
  t.equal(first.statusCode, 201)
  const res = await post(ctx.app, 'k-422', { ...ada, age: 37 })
  assertProblem(t, res, 422, { code: 'VERSO_IDEMPOTENCY_KEY_REUSED' })
  t.equal(res.headers['idempotent-replayed'], undefined)
  const other = await ctx.app.inject({ method: 'POST', url: '/book', payload: { title: 'Dune', author: 'Frank Herbert' }, headers: { 'idempotency-key': 'k-422' } })
  assertProblem(t, other, 422, { code: 'VERSO_IDEMPOTENCY_KEY_REUSED' })
  t.equal((await ctx.scan(ctx.tables(Person).main)).length, 1, 'still one person')
  t.equal((await ctx.scan(ctx.outbox)).length, 1, 'still one event')

  const reordered = await post(ctx.app, 'k-422', { age: 36, last_name: 'Lovelace', first_name: 'Ada' })
  t.equal(reordered.statusCode, 201, 'member order does not make another request')
  t.equal(reordered.headers['idempotent-replayed'], 'true')
  t.equal(reordered.body, first.body)
})

t.test('keys are scoped per caller', async (t) => {
  const ctx = await setup(t)
  // Until auth is configured in this test, the caller comes from a test-only header.
  const app = await buildApp({ config: { TABLE_PREFIX: ctx.prefix, OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1024 * 1024, REQUEST_TIMEOUT_MS: 30000 }, dynamo: ctx.client })
  app.addHook('onRequest', async (request) => {
    const caller = request.headers['x-test-caller']
    if (typeof caller === 'string') request.callerId = caller
  })
  await app.ready()
  t.teardown(async () => { await app.close() })
  const alice = 'a'.repeat(32)
  const bob = 'b'.repeat(32)
  const a = await post(app, 'shared', ada, { 'x-test-caller': alice })
  const b = await post(app, 'shared', ada, { 'x-test-caller': bob })
  t.equal(a.statusCode, 201)
  t.equal(b.statusCode, 201)
  t.equal(b.headers['idempotent-replayed'], undefined, 'another caller\'s key is not replayed')
  t.not(json(a).entity_id, json(b).entity_id, 'two entities')
  t.equal(json(b).changed_by_id, bob)
  const again = await post(app, 'shared', ada, { 'x-test-caller': alice })
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.body, a.body, 'each caller gets its own answer')
  const differentBody = await post(app, 'shared', { ...ada, age: 1 }, { 'x-test-caller': 'c'.repeat(32) })
  t.equal(differentBody.statusCode, 201, 'a third caller may use the key for anything')
  t.same((await records(ctx)).map((r) => String(r.pk)).sort(), [`${alice} shared`, `${bob} shared`, `${'c'.repeat(32)} shared`])
})

t.test('an expired record counts as absent (DynamoDB deletes expired items lazily)', async (t) => {
  const ctx = await setup(t)
  await ctx.client.send(new PutItemCommand({
    TableName: idempotencyTable(ctx.prefix),
    Item: {
      pk: { S: `${ZERO_ID} old` },
      fingerprint: { S: 'another request' },
      response: { S: JSON.stringify({ status: 201, headers: {}, body: '{"stale":true}' }) },
      expires_at: { N: String(Math.floor(Date.now() / 1000) - 10) }
    }
  }))
  const res = await post(ctx.app, 'old')
  t.equal(res.statusCode, 201, 'executed anew, not 422')
  t.equal(res.headers['idempotent-replayed'], undefined)
  t.equal((await ctx.scan(ctx.tables(Person).main)).length, 1)
  const { Item } = await ctx.client.send(new GetItemCommand({ TableName: idempotencyTable(ctx.prefix), Key: { pk: { S: `${ZERO_ID} old` } }, ConsistentRead: true }))
  t.ok(Number(Item?.expires_at?.N) > Date.now() / 1000, 'the record is replaced')
  t.equal(JSON.parse(String(Item?.response?.S)).body, res.body)
  t.equal((await post(ctx.app, 'old')).headers['idempotent-replayed'], 'true')
})

t.test('restore with a key replays its answer, also after the precondition went stale', async (t) => {
  const ctx = await setup(t)
  const created = json(await post(ctx.app, undefined))
  const updated = json(await ctx.app.inject({ method: 'PUT', url: `/person/${String(created.entity_id)}`, headers: { 'if-match': etag(created.version) }, payload: { first_name: 'Ada', last_name: 'Byron' } }))
  const restore = async (key: string, base = updated.version): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> =>
    await ctx.app.inject({ method: 'POST', url: `/person/${String(created.entity_id)}/versions/${String(created.version)}/restore`, headers: { 'if-match': etag(base), 'idempotency-key': key } })
  const answers = await Promise.all(Array.from({ length: 5 }, async () => await restore('restore-1')))
  t.same(answers.map((r) => r.statusCode), Array(5).fill(200), 'all 200')
  t.equal(answers.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 4)
  const first = answers[0]
  for (const res of answers) {
    t.equal(res.body, first?.body)
    t.equal(res.headers.etag, first?.headers.etag)
  }
  const restored = json(first ?? { body: '{}' })
  t.equal(restored.last_name, 'Lovelace')
  t.equal(restored.previous_version, updated.version)
  const later = await restore('restore-1')
  t.equal(later.statusCode, 200, 'not 412, though If-Match names a version that is no longer current')
  t.equal(later.headers['idempotent-replayed'], 'true')
  t.equal(later.body, first?.body)
  const events = await ctx.events(String(created.entity_id))
  t.same(events.map((e) => e.type), ['verso.person.created', 'verso.person.updated', 'verso.person.restored'], 'one restored event')
  t.equal((await ctx.audit(Person, String(created.entity_id))).length, 2, 'two replaced versions in the audit table')

  assertProblem(t, await restore('restore-1', restored.version), 422, { code: 'VERSO_IDEMPOTENCY_KEY_REUSED' })
  assertProblem(t, await restore('restore-2'), 412, { code: 'VERSO_PRECONDITION_FAILED' })
})

t.test('a malformed key is 400 and nothing is written', async (t) => {
  const ctx = await setup(t)
  for (const key of ['', 'has space', 'x'.repeat(256), 'tab\tkey', 'é', '"unterminated', '"a"b"']) {
    assertProblem(t, await post(ctx.app, key), 400, { code: 'VERSO_INVALID_IDEMPOTENCY_KEY' })
  }
  const twice = await ctx.app.inject({ method: 'POST', url: '/person', payload: ada, headers: { 'idempotency-key': ['a', 'b'] } })
  assertProblem(t, twice, 400, { code: 'VERSO_INVALID_IDEMPOTENCY_KEY' })
  t.equal((await post(ctx.app, 'x'.repeat(255))).statusCode, 201, '255 characters are fine')
  t.equal((await ctx.scan(ctx.tables(Person).main)).length, 1)
})

t.test('a failed write stores nothing: a retry executes again', async (t) => {
  const ctx = await setup(t)
  const invalid = await post(ctx.app, 'k-fail', { ...ada, age: 'old' })
  assertProblem(t, invalid, 400, { code: 'VERSO_VALIDATION_FAILED' })
  const id = 'a'.repeat(32)
  t.equal((await post(ctx.app, undefined, { ...ada, entity_id: id })).statusCode, 201)
  assertProblem(t, await post(ctx.app, 'k-exists', { ...ada, entity_id: id }), 409, { code: 'VERSO_ALREADY_EXISTS' })
  t.same(await records(ctx), [], 'no record for a 400 or a 409')
  t.equal((await post(ctx.app, 'k-fail')).statusCode, 201, 'the key is free for the corrected request')
})

t.test('a retried create with a client-supplied entity_id is replayed, not 409', async (t) => {
  const ctx = await setup(t)
  const payload = { ...ada, entity_id: 'c'.repeat(32) }
  const first = await post(ctx.app, 'k-id', payload)
  t.equal(first.statusCode, 201)
  const again = await post(ctx.app, 'k-id', payload)
  t.equal(again.statusCode, 201)
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.body, first.body)
})

t.test('without a key nothing changes; the key is ignored on other methods', async (t) => {
  const ctx = await setup(t)
  const res = await post(ctx.app, undefined)
  t.equal(res.statusCode, 201)
  t.equal(res.headers['idempotent-replayed'], undefined)
  const body = json(res)
  t.equal(res.headers.location, `/person/${String(body.entity_id)}`)
  t.equal(res.headers.etag, etag(body.version))
  t.equal((await post(ctx.app, undefined)).statusCode, 201, 'a second create without a key is a second entity')
  const put = await ctx.app.inject({ method: 'PUT', url: `/person/${String(body.entity_id)}`, headers: { 'if-match': etag(body.version), 'idempotency-key': 'not used' }, payload: { first_name: 'A', last_name: 'B' } })
  t.equal(put.statusCode, 200, 'a PUT ignores the header, even a malformed one')
  t.same(await records(ctx), [])
  t.equal((await ctx.scan(ctx.tables(Person).main)).length, 2)
})

t.test('while another request holds the key in a committing transaction: wait for its record, else 409', async (t) => {
  const ctx = await setup(t)
  const first = await post(ctx.app, 'busy')
  t.equal(first.statusCode, 201)
  // DynamoDB Local runs transactions one at a time, so the conflict real DynamoDB reports is simulated.
  let conflicts = 0
  ctx.client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName !== 'TransactWriteItemsCommand') return await next(args)
    conflicts++
    throw new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'None' }, { Code: 'None' }, { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }]
    })
  }, { step: 'initialize', name: 'simulatedTransactionConflict' })

  const replayed = await post(ctx.app, 'busy')
  t.equal(replayed.statusCode, 201, 'the record of the committed request is found: replayed')
  t.equal(replayed.headers['idempotent-replayed'], 'true')
  t.equal(replayed.body, first.body)
  t.ok(conflicts > 1, 'the transaction was retried before the record was read')

  const started = Date.now()
  const inFlight = await post(ctx.app, 'busy-elsewhere')
  const problem = assertProblem(t, inFlight, 409, { code: 'VERSO_IDEMPOTENCY_KEY_IN_FLIGHT' })
  t.equal(inFlight.headers['retry-after'], '1')
  t.equal(problem.retry_after_s, 1)
  t.ok(Date.now() - started >= 1000, 'answered after waiting a moment for the record')
  t.equal((await ctx.scan(ctx.tables(Person).main)).length, 1, 'nothing more written')
})

t.test('DynamoDB calls: a create with a key is still one transaction', async (t) => {
  const ctx = await setup(t)
  const measure = callsOf(ctx.client)
  t.same(await measure(async () => await post(ctx.app, 'rt')), { TransactWriteItemsCommand: 1 }, 'create with a key: 1')
  t.same(await measure(async () => await post(ctx.app, 'rt')), { TransactWriteItemsCommand: 1, GetItemCommand: 1 }, 'its replay: the cancelled transaction, then the record')
})

t.test('key and fingerprint helpers', async (t) => {
  t.equal(parseIdempotencyKey(undefined), undefined)
  t.equal(parseIdempotencyKey('abc'), 'abc')
  t.equal(parseIdempotencyKey('"abc"'), 'abc')
  t.match(thrown(() => parseIdempotencyKey('"')), { code: 'VERSO_INVALID_IDEMPOTENCY_KEY' }, 'a lone quote is not a quoted string')
  t.equal(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}')
  t.equal(durationSeconds('24h'), 86400)
  t.equal(durationSeconds('90m'), 5400)
  t.equal(durationSeconds('7d'), 604800)
  t.equal(durationSeconds('3600'), 3600)
  t.equal(durationSeconds('30s'), 30)
})
