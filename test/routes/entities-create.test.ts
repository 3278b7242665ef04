import t from 'tap'
import { Book } from '../../src/models/book.js'
import { Person } from '../../src/models/person.js'
import { setup, json, etag } from '../support/helper.js'
import { assertProblem, assertServerFields, newId, ID, ZERO_ID, SERVER_FIELDS } from './support.js'

t.test('POST /person creates the first version', async (t) => {
  const ctx = await setup(t)
  const before = Date.now()
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/person',
    payload: { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines', tags: ['a', 'b'] } }
  })
  t.equal(res.statusCode, 201)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = json(res)
  assertServerFields(t, body)
  t.equal(body.previous_version, ZERO_ID, 'previous_version is the zero id on create')
  t.equal(body.active, true)
  t.equal(res.headers.location, `/person/${String(body.entity_id)}`, 'Location names the new entity')
  t.equal(res.headers.etag, etag(body.version), 'ETag is the strong tag of the version')
  t.same(Object.keys(body).sort(), [...SERVER_FIELDS, 'first_name', 'last_name', 'age', 'metadata'].sort(), 'exactly the fields sent plus the six server fields')
  t.equal(body.first_name, 'Ada')
  t.equal(body.last_name, 'Lovelace')
  t.equal(body.age, 36)
  t.same(body.metadata, { team: 'engines', tags: ['a', 'b'] })
  const changedOn = Date.parse(String(body.changed_on))
  t.ok(changedOn >= before - 1000 && changedOn <= Date.now() + 1000, 'changed_on is now')

  const rows = await ctx.scan(ctx.tables(Person).main)
  t.equal(rows.length, 1, 'one item in the main table')
  t.equal(rows[0]?.entity_id, body.entity_id)
  t.equal(rows[0]?.version, body.version)
  t.same(await ctx.audit(Person, String(body.entity_id)), [], 'nothing in the audit table on create')
  const events = await ctx.events(String(body.entity_id))
  t.equal(events.length, 1, 'one change event')
  t.equal(events[0]?.type, 'verso.person.created')
  t.same(events[0]?.data, body, 'the event carries the new state')

  const got = await ctx.app.inject({ method: 'GET', url: String(res.headers.location) })
  t.equal(got.statusCode, 200, 'Location can be read back')
  t.same(json(got), body)
})

t.test('two creates get different ids and versions', async (t) => {
  const { app } = await setup(t)
  const a = json(await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'A', last_name: 'A' } }))
  const b = json(await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'B', last_name: 'B' } }))
  t.not(a.entity_id, b.entity_id)
  t.not(a.version, b.version)
  t.not(a.entity_id, a.version, 'entity_id and version are distinct ids')
})

t.test('a client-supplied entity_id is honoured; the same id twice is a 409', async (t) => {
  const ctx = await setup(t)
  const id = newId()
  const res = await ctx.app.inject({ method: 'POST', url: '/person', payload: { entity_id: id, first_name: 'Ada', last_name: 'Lovelace' } })
  t.equal(res.statusCode, 201)
  t.equal(json(res).entity_id, id)
  t.equal(res.headers.location, `/person/${id}`)

  const again = await ctx.app.inject({ method: 'POST', url: '/person', payload: { entity_id: id, first_name: 'Eve', last_name: 'Intruder' } })
  const problem = assertProblem(t, again, 409, { code: 'VERSO_ALREADY_EXISTS', instance: '/person' })
  t.match(problem.detail, id, 'the problem names the id')

  const rows = await ctx.scan(ctx.tables(Person).main)
  t.equal(rows.length, 1, 'still one item')
  t.equal(rows[0]?.first_name, 'Ada', 'the existing entity was not overwritten')
  t.equal((await ctx.events(id)).length, 1, 'no event for the refused create')
})

t.test('a malformed client entity_id is a 400', async (t) => {
  const { app } = await setup(t)
  for (const bad of ['ABCDEF0123456789ABCDEF0123456789', 'abc', `${newId()}0`, '3f2c9a4e-8d1b-4c7a-9e6f-0a1b2c3d4e5f', 42]) {
    const res = await app.inject({ method: 'POST', url: '/person', payload: { entity_id: bad, first_name: 'Ada', last_name: 'Lovelace' } })
    assertProblem(t, res, 400, { paths: ['/body/entity_id'] })
  }
})

t.test('Book: default status to_read is filled in; given status kept', async (t) => {
  const ctx = await setup(t)
  const res = await ctx.app.inject({ method: 'POST', url: '/book', payload: { title: 'Dune', author: 'Frank Herbert' } })
  t.equal(res.statusCode, 201)
  const body = json(res)
  t.equal(body.status, 'to_read')
  t.equal(res.headers.location, `/book/${String(body.entity_id)}`)
  t.equal(res.headers.etag, etag(body.version))
  const stored = (await ctx.scan(ctx.tables(Book).main))[0]
  t.equal(stored?.status, 'to_read', 'the default is stored')

  const reading = await ctx.app.inject({ method: 'POST', url: '/book', payload: { title: 'Emma', author: 'Jane Austen', status: 'reading', rating: 4 } })
  t.equal(reading.statusCode, 201)
  t.equal(json(reading).status, 'reading')
  t.equal(json(reading).rating, 4)
})

t.test('Book: enum and range are enforced', async (t) => {
  const { app } = await setup(t)
  const badStatus = await app.inject({ method: 'POST', url: '/book', payload: { title: 'Dune', author: 'Frank Herbert', status: 'burnt' } })
  assertProblem(t, badStatus, 400, { code: 'VERSO_VALIDATION_FAILED', paths: ['/body/status'] })
  for (const rating of [0, 6, 2.5, '3']) {
    const res = await app.inject({ method: 'POST', url: '/book', payload: { title: 'Dune', author: 'Frank Herbert', rating } })
    assertProblem(t, res, 400, { code: 'VERSO_VALIDATION_FAILED', paths: ['/body/rating'] })
  }
  const empty = await app.inject({ method: 'POST', url: '/book', payload: { title: '', author: 'Frank Herbert' } })
  assertProblem(t, empty, 400, { paths: ['/body/title'] })
})

t.test('required fields missing → 400 naming each', async (t) => {
  const ctx = await setup(t)
  const res = await ctx.app.inject({ method: 'POST', url: '/person', payload: { age: 3 } })
  const problem = assertProblem(t, res, 400, { code: 'VERSO_VALIDATION_FAILED', paths: ['/body/first_name', '/body/last_name'] })
  t.equal(problem.instance, '/person')
  t.same(await ctx.scan(ctx.tables(Person).main), [], 'nothing written')
})

t.test('server-managed fields in a POST body are rejected by name', async (t) => {
  const ctx = await setup(t)
  const values: Record<string, unknown> = {
    version: newId(), previous_version: ZERO_ID, active: true, changed_by_id: ZERO_ID, changed_on: '2026-11-26T23:51:48.540000+00:00'
  }
  for (const [field, value] of Object.entries(values)) {
    const res = await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace', [field]: value } })
    const problem = assertProblem(t, res, 400, { paths: [`/body/${field}`] })
    t.match(problem.detail, field, `detail names ${field}`)
  }
  const all = await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace', ...values } })
  assertProblem(t, all, 400, { paths: Object.keys(values).map((f) => `/body/${f}`) })
  t.same(await ctx.scan(ctx.tables(Person).main), [], 'nothing written')
  t.same(await ctx.scan(ctx.outbox), [], 'no event')
})

t.test('the created entity id matches the generated pattern', async (t) => {
  const { app } = await setup(t)
  const res = await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace' } })
  t.match(json(res).entity_id, ID)
  t.notOk('age' in json(res), 'an absent optional field is not in the answer')
  t.notOk('metadata' in json(res))
})
