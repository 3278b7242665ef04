import t from 'tap'
import { setup, json, etag } from '../support/helper.js'
import { assertProblem, createPerson, newId } from './support.js'

t.test('GET /person/:id answers the current version with its ETag', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app, { age: 36, metadata: { team: 'engines' } })
  const res = await app.inject({ method: 'GET', url: `/person/${created.entity_id}` })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers.etag, etag(created.version))
  t.same(json(res), created, 'the same state the create answered')
})

t.test('If-None-Match', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const url = `/person/${created.entity_id}`

  const current = await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag(created.version) } })
  t.equal(current.statusCode, 304, 'current tag → 304')
  t.equal(current.body, '', '304 has no body')
  t.equal(current.headers.etag, etag(created.version), '304 carries the ETag')
  t.ok(current.headers['x-request-id'])

  const weak = await app.inject({ method: 'GET', url, headers: { 'if-none-match': `W/${etag(created.version)}` } })
  t.equal(weak.statusCode, 304, 'If-None-Match uses weak comparison')

  const list = await app.inject({ method: 'GET', url, headers: { 'if-none-match': `${etag(newId())}, ${etag(created.version)}` } })
  t.equal(list.statusCode, 304, 'a list holding the current tag → 304')

  const star = await app.inject({ method: 'GET', url, headers: { 'if-none-match': '*' } })
  t.equal(star.statusCode, 304, '* matches any current entity')

  const other = await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag(newId()) } })
  t.equal(other.statusCode, 200, 'another tag → 200')
  t.equal(other.headers.etag, etag(created.version))
  t.same(json(other), created)

  const unknown = await app.inject({ method: 'GET', url: `/person/${newId()}`, headers: { 'if-none-match': '*' } })
  assertProblem(t, unknown, 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
})

t.test('after an update the old tag no longer gets a 304', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const url = `/person/${created.entity_id}`
  const updated = json(await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(created.version) }, payload: { age: 1 } }))
  const res = await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag(created.version) } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers.etag, etag(updated.version))
  t.equal(json(res).age, 1)
})

t.test('unknown id → 404 problem', async (t) => {
  const { app } = await setup(t)
  const id = newId()
  const res = await app.inject({ method: 'GET', url: `/person/${id}` })
  const problem = assertProblem(t, res, 404, { code: 'VERSO_ENTITY_NOT_FOUND', instance: `/person/${id}` })
  t.match(problem.detail, id)
})

t.test('malformed ids → 400 problem', async (t) => {
  const { app } = await setup(t)
  const valid = newId()
  const cases = {
    uppercase: valid.toUpperCase(),
    'too short': valid.slice(0, 31),
    'too long': `${valid}0`,
    'with dashes': '3f2c9a4e-8d1b-4c7a-9e6f-0a1b2c3d4e5f',
    'not hex': 'g'.repeat(32),
    'far too long': 'a'.repeat(100)
  }
  for (const [name, id] of Object.entries(cases)) {
    const res = await app.inject({ method: 'GET', url: `/person/${id}` })
    assertProblem(t, res, 400, { paths: ['/params/id'] })
    t.comment(name)
  }
})

t.test('an id far beyond any id length is still a 400 problem, not a bare router error', async (t) => {
  const { app } = await setup(t)
  const res = await app.inject({ method: 'GET', url: `/person/${'a'.repeat(300)}` })
  assertProblem(t, res, 400)
})

t.test('a malformed percent-encoding in the path is a problem+json answer', async (t) => {
  const { app } = await setup(t)
  const res = await app.inject({ method: 'GET', url: '/person/%E0%A4%A' })
  assertProblem(t, res, 400)
})

t.test('soft-deleted: 404, and 200 with ?include_deleted=true', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const url = `/person/${created.entity_id}`
  const deleted = await app.inject({ method: 'DELETE', url, headers: { 'if-match': etag(created.version) } })
  t.equal(deleted.statusCode, 200)
  const deletedBody = json(deleted)

  assertProblem(t, await app.inject({ method: 'GET', url }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  assertProblem(t, await app.inject({ method: 'GET', url: `${url}?include_deleted=false` }), 404)

  const res = await app.inject({ method: 'GET', url: `${url}?include_deleted=true` })
  t.equal(res.statusCode, 200)
  t.equal(json(res).active, false)
  t.equal(res.headers.etag, etag(deletedBody.version))
  t.same(json(res), deletedBody)
})

t.test('GET query validation', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const url = `/person/${created.entity_id}`
  assertProblem(t, await app.inject({ method: 'GET', url: `${url}?include_deleted=maybe` }), 400, { paths: ['/querystring/include_deleted'] })
  assertProblem(t, await app.inject({ method: 'GET', url: `${url}?nope=1` }), 400, { paths: ['/querystring/nope'] })
})

t.test('a trailing slash reaches the same routes', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  t.equal((await app.inject({ method: 'GET', url: `/person/${created.entity_id}/` })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/person/' })).statusCode, 200)
})
