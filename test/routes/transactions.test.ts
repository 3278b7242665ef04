import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Book } from '../../src/models/book.js'
import { Person } from '../../src/models/person.js'
import { idempotencyTable } from '../../src/storage/table-names.js'
import { setup, json, type TestContext } from '../support/helper.js'
import { assertProblem, newId, ZERO_ID } from './support.js'

const commit = async (app: FastifyInstance, operations: unknown[], headers: Record<string, string> = {}): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> =>
  await app.inject({ method: 'POST', url: '/_transactions', payload: { operations }, headers })

const create = async (app: FastifyInstance, path: string, body: object): Promise<Record<string, any>> =>
  json(await app.inject({ method: 'POST', url: `/${path}`, payload: body }))

/** Every item of the main, audit and outbox tables: what "nothing was written" is checked against. */
const snapshot = async (ctx: TestContext): Promise<unknown[]> => await Promise.all([
  ctx.scan(ctx.tables(Person).main), ctx.scan(ctx.tables(Person).audit),
  ctx.scan(ctx.tables(Book).main), ctx.scan(ctx.tables(Book).audit), ctx.scan(ctx.outbox)
])

t.test('3 operations on 2 models commit together, with audit copies and one event per version', async (t) => {
  const ctx = await setup(t)
  const book = await create(ctx.app, 'book', { title: 'The Dispossessed', author: 'Ursula K. Le Guin' })
  const ada = await create(ctx.app, 'person', { first_name: 'Ada', last_name: 'Lovelace', age: 36 })
  const newPerson = newId()
  const res = await commit(ctx.app, [
    { op: 'create', model: 'person', id: newPerson, body: { first_name: 'Ursula', last_name: 'Le Guin' } },
    { op: 'patch', model: 'book', id: book.entity_id, version: book.version, patch: { status: 'finished', rating: 5 } },
    { op: 'delete', model: 'person', id: ada.entity_id, version: ada.version }
  ])
  t.equal(res.statusCode, 200, res.body)
  const { results } = json(res)
  t.same(results.map((r: any) => [r.op, r.model, r.entity_id]), [['create', 'person', newPerson], ['patch', 'book', book.entity_id], ['delete', 'person', ada.entity_id]])
  const [created, patched, deleted] = results.map((r: any) => r.entity)
  t.match(created, { entity_id: newPerson, previous_version: ZERO_ID, active: true, first_name: 'Ursula' })
  t.match(patched, { previous_version: book.version, status: 'finished', rating: 5, title: 'The Dispossessed', active: true })
  t.match(deleted, { previous_version: ada.version, active: false, first_name: 'Ada' })

  const people = await ctx.scan(ctx.tables(Person).main)
  t.equal(people.length, 2)
  t.same(people.find((p) => p.entity_id === newPerson)?.version, created.version, 'the new person is stored')
  t.equal(people.find((p) => p.entity_id === ada.entity_id)?.active, false, 'the deleted person is soft-deleted')
  const books = await ctx.scan(ctx.tables(Book).main)
  t.same(books.map((b) => [b.version, b.status, b.rating]), [[patched.version, 'finished', 5]])
  t.same((await ctx.audit(Book, book.entity_id)).map((a) => [a.version, a.status]), [[book.version, 'to_read']], 'the replaced book version is in the audit table')
  t.same((await ctx.audit(Person, ada.entity_id)).map((a) => a.version), [ada.version], 'the replaced person version too')
  t.same(await ctx.audit(Person, newPerson), [], 'a create has no audit copy')
  t.same((await ctx.events(newPerson)).map((e) => [e.type, e.data.version]), [['verso.person.created', created.version]])
  t.same((await ctx.events(book.entity_id)).map((e) => e.type), ['verso.book.created', 'verso.book.updated'])
  t.same((await ctx.events(ada.entity_id)).map((e) => [e.type, e.data.active]), [['verso.person.created', true], ['verso.person.deleted', false]])
  t.equal((await ctx.scan(ctx.outbox)).length, 5, '2 creates before, 3 events of the transaction')
})

t.test('one stale precondition: nothing is written, the error names the operation and the current version', async (t) => {
  const ctx = await setup(t)
  const book = await create(ctx.app, 'book', { title: 'Kindred', author: 'Octavia E. Butler' })
  const ada = await create(ctx.app, 'person', { first_name: 'Ada', last_name: 'Lovelace' })
  const stale = json(await ctx.app.inject({ method: 'PATCH', url: `/person/${String(ada.entity_id)}`, headers: { 'if-match': `"${String(ada.version)}"`, 'content-type': 'application/merge-patch+json' }, payload: '{"age":37}' }))
  const before = await snapshot(ctx)
  const res = await commit(ctx.app, [
    { op: 'create', model: 'book', body: { title: 'Parable of the Sower', author: 'Octavia E. Butler' } },
    { op: 'replace', model: 'book', id: book.entity_id, version: book.version, body: { title: 'Kindred', author: 'Octavia E. Butler', rating: 5 } },
    { op: 'patch', model: 'person', id: ada.entity_id, version: ada.version, patch: { age: 38 } }
  ])
  const problem = assertProblem(t, res, 409, { code: 'VERSO_TRANSACTION_FAILED' })
  t.match(problem.detail, /Operation 2 failed/)
  t.same(problem.errors, [{
    path: '/body/operations/2',
    operation: 2,
    code: 'VERSO_VERSION_CONFLICT',
    status: 409,
    current_version: stale.version,
    message: `The version in the body is not the current version (${String(stale.version)}).`
  }])
  t.same(await snapshot(ctx), before, 'nothing written: main, audit and outbox tables as they were')

  // Several failures at once: a missing entity, a missing restore version.
  const missing = newId()
  const many = await commit(ctx.app, [
    { op: 'delete', model: 'person', id: missing, version: ada.version },
    { op: 'restore', model: 'book', id: book.entity_id, version: book.version, restore_version: newId() }
  ])
  const both = assertProblem(t, many, 404, { code: 'VERSO_TRANSACTION_FAILED' })
  t.match(both.errors, [{ operation: 0, code: 'VERSO_ENTITY_NOT_FOUND', status: 404 }, { operation: 1, code: 'VERSO_VERSION_NOT_FOUND', status: 404 }])
  t.same(await snapshot(ctx), before)
})

t.test('a condition that fails only when DynamoDB commits is mapped back to its operation', async (t) => {
  const ctx = await setup(t)
  const book = await create(ctx.app, 'book', { title: 'Kindred', author: 'Octavia E. Butler' })
  const taken = newId()
  // A create is not read first: only the transaction's CancellationReasons tell that its id is taken.
  await create(ctx.app, 'person', { entity_id: taken, first_name: 'Ada', last_name: 'Lovelace' })
  const before = await snapshot(ctx)
  const res = await commit(ctx.app, [
    { op: 'patch', model: 'book', id: book.entity_id, version: book.version, patch: { rating: 4 } },
    { op: 'create', model: 'person', id: taken, body: { first_name: 'Grace', last_name: 'Hopper' } }
  ])
  const problem = assertProblem(t, res, 409, { code: 'VERSO_TRANSACTION_FAILED' })
  t.match(problem.errors, [{ operation: 1, code: 'VERSO_ALREADY_EXISTS', status: 409 }])
  t.equal(problem.errors.length, 1)
  t.same(await snapshot(ctx), before)
})

t.test('check operations: version, exists true and false; a failing check writes nothing', async (t) => {
  const ctx = await setup(t)
  const ada = await create(ctx.app, 'person', { first_name: 'Ada', last_name: 'Lovelace' })
  const book = await create(ctx.app, 'book', { title: 'Kindred', author: 'Octavia E. Butler' })
  const absent = newId()
  const ok = await commit(ctx.app, [
    { op: 'check', model: 'person', id: ada.entity_id, version: ada.version },
    { op: 'check', model: 'person', id: absent, exists: false },
    { op: 'patch', model: 'book', id: book.entity_id, version: book.version, patch: { rating: 3 } }
  ])
  t.equal(ok.statusCode, 200, ok.body)
  t.same(json(ok).results.map((r: any) => [r.op, r.entity_id, r.entity?.version ?? null]), [['check', ada.entity_id, ada.version], ['check', absent, null], ['patch', book.entity_id, json(ok).results[2].entity.version]])
  t.same((await ctx.events(ada.entity_id)).length, 1, 'a check emits no event')

  const before = await snapshot(ctx)
  const current = json(ok).results[2].entity
  for (const [check, code, status] of [
    [{ version: newId() }, 'VERSO_VERSION_CONFLICT', 409],
    [{ exists: false }, 'VERSO_ALREADY_EXISTS', 409],
    [{ exists: true, id: absent }, 'VERSO_ENTITY_NOT_FOUND', 404]
  ] as const) {
    const res = await commit(ctx.app, [
      { op: 'patch', model: 'book', id: book.entity_id, version: current.version, patch: { rating: 1 } },
      { op: 'check', model: 'person', id: ada.entity_id, ...check }
    ])
    const problem = assertProblem(t, res, status, { code: 'VERSO_TRANSACTION_FAILED' })
    t.match(problem.errors, [{ operation: 1, code, status }], code)
  }
  t.same(await snapshot(ctx), before, 'no failed check wrote anything')
})

t.test('refused before any write: over the action limit, an entity twice, unknown model, bad op, invalid body', async (t) => {
  const ctx = await setup(t)
  const ada = await create(ctx.app, 'person', { first_name: 'Ada', last_name: 'Lovelace' })
  const before = await snapshot(ctx)
  const person = { first_name: 'A', last_name: 'B' }

  // 50 creates are 100 actions: they fit; 34 versioned patches (102) do not, nor 50 creates with an Idempotency-Key (101).
  const patches = Array.from({ length: 34 }, () => ({ op: 'patch', model: 'person', id: newId(), version: ada.version, patch: { age: 1 } }))
  const over = assertProblem(t, await commit(ctx.app, patches), 400, { code: 'VERSO_TRANSACTION_TOO_LARGE' })
  t.match(over.detail, /102 DynamoDB actions/)
  const creates = Array.from({ length: 50 }, () => ({ op: 'create', model: 'person', body: person }))
  assertProblem(t, await commit(ctx.app, creates, { 'idempotency-key': 'over-by-one' }), 400, { code: 'VERSO_TRANSACTION_TOO_LARGE' })
  t.same(await snapshot(ctx), before, 'nothing written')
  t.equal((await commit(ctx.app, creates)).statusCode, 200, '50 creates fit')
  const before50 = await snapshot(ctx)
  assertProblem(t, await commit(ctx.app, [...creates, { op: 'check', model: 'person', id: ada.entity_id, exists: true }]), 400, { code: 'VERSO_TRANSACTION_TOO_LARGE' })
  const checks = Array.from({ length: 101 }, () => ({ op: 'check', model: 'person', id: newId(), exists: false }))
  assertProblem(t, await commit(ctx.app, checks), 400, { code: 'VERSO_VALIDATION_FAILED', paths: ['/body/operations'] })
  t.same(await snapshot(ctx), before50, 'nothing written by the refused ones')

  const twice = assertProblem(t, await commit(ctx.app, [
    { op: 'check', model: 'person', id: ada.entity_id, exists: true },
    { op: 'delete', model: 'person', id: ada.entity_id, version: ada.version }
  ]), 400, { code: 'VERSO_VALIDATION_FAILED', paths: ['/body/operations/1/id'] })
  t.match(twice.errors[0].message, /as operation 0 does/)

  const invalid = assertProblem(t, await commit(ctx.app, [
    { op: 'create', model: 'author', body: person },
    { op: 'create', model: 'person', body: { first_name: 'A', age: 'old' } },
    { op: 'replace', model: 'person', id: ada.entity_id, body: person },
    { op: 'create', model: 'book', body: { title: 'T', author: 'A', version: ada.version } },
    { op: 'check', model: 'person', id: newId() }
  ]), 400, { code: 'VERSO_VALIDATION_FAILED' })
  t.same(invalid.errors.map((e: any) => e.path).sort(), [
    '/body/operations/0/model', '/body/operations/1/body/age', '/body/operations/1/body/last_name', '/body/operations/2/version',
    '/body/operations/3/body/version', '/body/operations/3/body/version', '/body/operations/4'
  ].sort())

  const badOp = assertProblem(t, await commit(ctx.app, [{ op: 'upsert', model: 'person', id: ada.entity_id }]), 400, { code: 'VERSO_VALIDATION_FAILED' })
  t.match(badOp.errors, [{ path: '/body/operations/0' }], 'an unknown op is named by its operation')
  assertProblem(t, await commit(ctx.app, []), 400, { code: 'VERSO_VALIDATION_FAILED' })
  t.same(await snapshot(ctx), before50, 'still nothing written')
})

t.test('Idempotency-Key: a retry gets the first answer and writes nothing more', async (t) => {
  const ctx = await setup(t)
  const book = await create(ctx.app, 'book', { title: 'Kindred', author: 'Octavia E. Butler' })
  const operations = [
    { op: 'create', model: 'person', body: { first_name: 'Octavia', last_name: 'Butler' } },
    { op: 'patch', model: 'book', id: book.entity_id, version: book.version, patch: { rating: 5 } }
  ]
  const first = await commit(ctx.app, operations, { 'idempotency-key': 'tx-1' })
  t.equal(first.statusCode, 200, first.body)
  const after = await snapshot(ctx)
  const retry = await commit(ctx.app, operations, { 'idempotency-key': 'tx-1' })
  t.equal(retry.statusCode, 200)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  t.equal(retry.body, first.body, 'the first answer, byte for byte (though its book version is stale now)')
  t.same(await snapshot(ctx), after, 'nothing written by the retry')
  t.equal((await ctx.scan(idempotencyTable(ctx.prefix))).length, 1, 'one record, committed with the transaction')
  assertProblem(t, await commit(ctx.app, operations.slice(0, 1), { 'idempotency-key': 'tx-1' }), 422, { code: 'VERSO_IDEMPOTENCY_KEY_REUSED' })
})

t.test('restore and a non-versioned model in a transaction', async (t) => {
  const { defineModel } = await import('../../src/models/define.js')
  const { Type } = await import('typebox')
  const Tag = defineModel({ name: 'Tag', versioned: false, schema: Type.Object({ label: Type.String() }), example: { label: 'sf' } })
  const ctx = await setup(t, { models: [Person, Book, Tag] })
  const book = await create(ctx.app, 'book', { title: 'Kindred', author: 'Octavia E. Butler', rating: 2 })
  const changed = json(await ctx.app.inject({ method: 'PUT', url: `/book/${String(book.entity_id)}`, headers: { 'if-match': `"${String(book.version)}"` }, payload: { title: 'Kindred', author: 'Octavia E. Butler', rating: 5 } }))
  const tag = newId()
  const res = await commit(ctx.app, [
    { op: 'restore', model: 'book', id: book.entity_id, version: changed.version, restore_version: book.version },
    { op: 'replace', model: 'tag', id: tag, body: { label: 'classic' } }
  ])
  t.equal(res.statusCode, 200, res.body)
  const [restored, created] = json(res).results.map((r: any) => r.entity)
  t.match(restored, { rating: 2, previous_version: changed.version })
  t.same(created, { entity_id: tag, label: 'classic' })
  t.same((await ctx.events(book.entity_id)).map((e) => e.type), ['verso.book.created', 'verso.book.updated', 'verso.book.restored'])
  t.same((await ctx.events(tag)).map((e) => e.type), ['verso.tag.created'])

  const gone = await commit(ctx.app, [{ op: 'delete', model: 'tag', id: tag }, { op: 'patch', model: 'tag', id: newId(), patch: { label: 'x' } }])
  assertProblem(t, gone, 404, { code: 'VERSO_TRANSACTION_FAILED' })
  const deleted = await commit(ctx.app, [{ op: 'delete', model: 'tag', id: tag }])
  t.equal(deleted.statusCode, 200)
  t.same(await ctx.scan(ctx.tables(Tag).main), [], 'hard-deleted')
})
