import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { setup, json, etag } from '../support/helper.js'
import { assertProblem, createPerson, newId } from './support.js'

/** Follows next_cursor from the first page to the last; returns every item and the number of pages. */
async function listAll (t: Test, app: FastifyInstance, query: string): Promise<{ items: Array<Record<string, any>>, pages: number }> {
  const items: Array<Record<string, any>> = []
  let cursor: string | null = null
  let pages = 0
  do {
    const sep = query === '' ? '' : '&'
    const url: string = `/person?${query}${cursor === null ? '' : `${sep}cursor=${encodeURIComponent(cursor)}`}`
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, `page ${pages + 1}`)
    const body = json(res)
    items.push(...(body.items as Array<Record<string, any>>))
    cursor = body.next_cursor as string | null
    pages++
    if (pages > 100) throw new Error('paging does not end')
  } while (cursor !== null)
  return { items, pages }
}

t.test('GET /person: items and next_cursor', async (t) => {
  const { app } = await setup(t)
  const empty = await app.inject({ method: 'GET', url: '/person' })
  t.equal(empty.statusCode, 200)
  t.match(empty.headers['content-type'], /^application\/json/)
  t.same(json(empty), { items: [], next_cursor: null }, 'empty table: no items, no cursor')

  const a = await createPerson(app, { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines' } })
  const b = await createPerson(app, { first_name: 'Grace', last_name: 'Hopper' })
  const res = await app.inject({ method: 'GET', url: '/person' })
  t.equal(res.statusCode, 200)
  const body = json(res)
  t.same(Object.keys(body).sort(), ['items', 'next_cursor'])
  t.equal(body.next_cursor, null, 'two items fit in one page')
  const byId = new Map((body.items as Array<Record<string, any>>).map((i) => [i.entity_id, i]))
  t.same(byId.get(a.entity_id), a, 'list items are the full entities')
  t.same(byId.get(b.entity_id), b)
  t.equal(body.items.length, 2)
})

t.test('filters by field equality', async (t) => {
  const { app } = await setup(t)
  const ada = await createPerson(app, { first_name: 'Ada', last_name: 'Lovelace', age: 36 })
  const byron = await createPerson(app, { first_name: 'Byron', last_name: 'Lovelace', age: 50 })
  await createPerson(app, { first_name: 'Grace', last_name: 'Hopper', age: 36 })

  const lovelace = await listAll(t, app, 'last_name=Lovelace')
  t.same(lovelace.items.map((i) => i.entity_id).sort(), [ada.entity_id, byron.entity_id].sort())

  const aged = await listAll(t, app, 'age=36')
  t.equal(aged.items.length, 2, 'integer filter compares numbers')
  t.ok(aged.items.every((i) => i.age === 36))

  const both = await listAll(t, app, 'last_name=Lovelace&age=36')
  t.same(both.items.map((i) => i.entity_id), [ada.entity_id], 'filters combine with AND')

  const none = await listAll(t, app, 'last_name=Nobody')
  t.same(none.items, [])

  const spaced = await createPerson(app, { first_name: 'Jean', last_name: 'de la Fontaine' })
  const encoded = await listAll(t, app, `last_name=${encodeURIComponent('de la Fontaine')}`)
  t.same(encoded.items.map((i) => i.entity_id), [spaced.entity_id], 'URL-encoded values are decoded')

  assertProblem(t, await app.inject({ method: 'GET', url: '/person?age=old' }), 400, { paths: ['/querystring/age'] })
  assertProblem(t, await app.inject({ method: 'GET', url: '/person?metadata=x' }), 400, { paths: ['/querystring/metadata'] })
})

t.test('Book: filter by enum field; the default is not applied to the filter', async (t) => {
  const { app } = await setup(t)
  await app.inject({ method: 'POST', url: '/book', payload: { title: 'A', author: 'X', status: 'reading' } })
  await app.inject({ method: 'POST', url: '/book', payload: { title: 'B', author: 'X' } })
  const reading = json(await app.inject({ method: 'GET', url: '/book?status=reading' }))
  t.same(reading.items.map((i: any) => i.title), ['A'])
  const all = json(await app.inject({ method: 'GET', url: '/book' }))
  t.equal(all.items.length, 2, 'no status filter without ?status=')
  assertProblem(t, await app.inject({ method: 'GET', url: '/book?status=burnt' }), 400, { paths: ['/querystring/status'] })
  assertProblem(t, await app.inject({ method: 'GET', url: '/book?rating=9' }), 400, { paths: ['/querystring/rating'] })
})

t.test('limit validation', async (t) => {
  const { app } = await setup(t)
  for (const limit of ['0', '101', 'abc', '-1', '2.5', '']) {
    const res = await app.inject({ method: 'GET', url: `/person?limit=${limit}` })
    assertProblem(t, res, 400, { paths: ['/querystring/limit'], instance: '/person' })
  }
  t.equal((await app.inject({ method: 'GET', url: '/person?limit=1' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/person?limit=100' })).statusCode, 200)
})

t.test('unknown query parameter → 400', async (t) => {
  const { app } = await setup(t)
  const res = await app.inject({ method: 'GET', url: '/person?sort=age' })
  assertProblem(t, res, 400, { code: 'VERSO_VALIDATION_FAILED', paths: ['/querystring/sort'] })
  assertProblem(t, await app.inject({ method: 'GET', url: '/person?include_deleted=perhaps' }), 400, { paths: ['/querystring/include_deleted'] })
})

t.test('tampered cursors → 400', async (t) => {
  const { app } = await setup(t)
  for (let i = 0; i < 5; i++) await createPerson(app)
  const first = json(await app.inject({ method: 'GET', url: '/person?limit=2' }))
  t.type(first.next_cursor, 'string')
  const real = String(first.next_cursor)

  const cursors = {
    garbage: 'not a cursor!!',
    'random base64': Buffer.from(newId(), 'hex').toString('base64url'),
    'base64 of non-JSON': Buffer.from('hello world').toString('base64url'),
    'JSON array': Buffer.from('[1,2]').toString('base64url'),
    'JSON null': Buffer.from('null').toString('base64url'),
    'wrong key': Buffer.from(JSON.stringify({ version: { S: newId() } })).toString('base64url'),
    'extra key': Buffer.from(JSON.stringify({ entity_id: { S: newId() }, x: { S: 'y' } })).toString('base64url'),
    'malformed id': Buffer.from(JSON.stringify({ entity_id: { S: 'abc' } })).toString('base64url'),
    'number id': Buffer.from(JSON.stringify({ entity_id: { N: '1' } })).toString('base64url'),
    truncated: real.slice(0, -4),
    'too long': 'a'.repeat(5000)
  }
  for (const [name, cursor] of Object.entries(cursors)) {
    const res = await app.inject({ method: 'GET', url: `/person?limit=2&cursor=${encodeURIComponent(cursor)}` })
    assertProblem(t, res, 400)
    t.comment(name)
  }
  t.equal((await app.inject({ method: 'GET', url: `/person?limit=2&cursor=${real}` })).statusCode, 200, 'the issued cursor still works')
})

t.test('include_deleted', async (t) => {
  const { app } = await setup(t)
  const kept = await createPerson(app, { first_name: 'Kept' })
  const gone = await createPerson(app, { first_name: 'Gone' })
  const deleted = json(await app.inject({ method: 'DELETE', url: `/person/${gone.entity_id}`, headers: { 'if-match': etag(gone.version) } }))

  const visible = await listAll(t, app, '')
  t.same(visible.items.map((i) => i.entity_id), [kept.entity_id], 'soft-deleted left out by default')
  const explicit = await listAll(t, app, 'include_deleted=false')
  t.same(explicit.items.map((i) => i.entity_id), [kept.entity_id])

  const all = await listAll(t, app, 'include_deleted=true')
  t.equal(all.items.length, 2)
  const got = all.items.find((i) => i.entity_id === gone.entity_id)
  t.same(got, deleted, 'the deleted entity with active=false')

  const filtered = await listAll(t, app, 'first_name=Gone&include_deleted=true')
  t.same(filtered.items.map((i) => i.entity_id), [gone.entity_id], 'include_deleted combines with filters')
})

t.test('paging through 30 entities with limit=7 returns each exactly once', async (t) => {
  const { app } = await setup(t)
  const ids = new Set<string>()
  for (let i = 0; i < 30; i++) {
    const p = await createPerson(app, { first_name: `P${i}`, age: i % 3 })
    ids.add(p.entity_id)
  }
  let cursor: string | null = null
  const seen: string[] = []
  let pages = 0
  do {
    const url: string = `/person?limit=7${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200)
    const body = json(res)
    t.ok(body.items.length <= 7, 'a page holds at most limit items')
    seen.push(...(body.items as Array<{ entity_id: string }>).map((i) => i.entity_id))
    cursor = body.next_cursor
    if (cursor !== null) t.match(cursor, /^[A-Za-z0-9_.~-]+$/, 'cursor is URL-safe')
    pages++
    if (pages > 50) throw new Error('paging does not end')
  } while (cursor !== null)
  t.equal(seen.length, 30, 'no duplicates, nothing missing')
  t.same(new Set(seen), ids)
  t.ok(pages >= 5, `at least ceil(30/7) pages (got ${pages})`)

  const filtered = await listAll(t, app, 'limit=7&age=1')
  t.equal(filtered.items.length, 10, 'a filter over pages: every match exactly once')
  t.equal(new Set(filtered.items.map((i) => i.entity_id)).size, 10)
})

t.test('the default limit is 20', async (t) => {
  const { app } = await setup(t)
  for (let i = 0; i < 25; i++) await createPerson(app)
  const first = json(await app.inject({ method: 'GET', url: '/person' }))
  t.ok(first.items.length <= 20)
  t.type(first.next_cursor, 'string', 'more than one page')
  const all = await listAll(t, app, '')
  t.equal(all.items.length, 25)
})
