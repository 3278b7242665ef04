import t from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { Type } from 'typebox'
import { defineModel } from '../../src/models/define.js'
import { formatTimestamp, parseTimestampMicros, ZERO_ID } from '../../src/models/entity.js'
import { setup, json, etag } from '../support/helper.js'
import { assertProblem, createPerson, newId } from './support.js'

// GET /{model}/{id}/versions and /{model}/{id}/versions/{version} (docs/history.md) on verso-written histories.

type Entity = Record<string, any>

const V7 = /^[0-9a-f]{12}7[0-9a-f]{19}$/
const micros = (changedOn: unknown): number => {
  const value = parseTimestampMicros(String(changedOn))
  if (value === undefined) throw new Error(`not a timestamp: ${String(changedOn)}`)
  return value
}
const at = (changedOn: unknown, deltaMicros = 0): string => formatTimestamp(micros(changedOn) + deltaMicros)
/** The same instant written with a +02:00 offset. */
const inPlusTwo = (changedOn: unknown): string => formatTimestamp(micros(changedOn) + 2 * 3600 * 1_000_000).replace('+00:00', '+02:00')
/** The same instant written with Z and milliseconds (verso's changed_on has whole milliseconds). */
const inZulu = (changedOn: unknown): string => new Date(micros(changedOn) / 1000).toISOString()

/** An RFC 3339 time with nine fraction digits: these microseconds, then `nanos`. */
const withNanos = (us: number, nanos: string): string =>
  `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}${nanos}Z`

/** Create + (count - 1) writes through the API, alternating PUT and PATCH, each with If-Match. Oldest first. */
async function buildHistory (app: FastifyInstance, count: number): Promise<Entity[]> {
  const created = await createPerson(app, { age: 0, metadata: { n: 0 } })
  const versions: Entity[] = [created]
  for (let i = 1; i < count; i++) {
    const last = versions[versions.length - 1]!
    const url = `/person/${created.entity_id}`
    const res = i % 2 === 1
      ? await app.inject({ method: 'PUT', url, headers: { 'if-match': etag(last.version) }, payload: { first_name: `Ada ${i}`, last_name: 'Lovelace', age: i, metadata: { n: i, tags: ['x', String(i)] } } })
      : await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(last.version), 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ age: i, metadata: { n: i } }) })
    if (res.statusCode !== 200) throw new Error(`write ${i} failed: ${res.statusCode} ${res.body}`)
    versions.push(json(res))
  }
  return versions
}

interface Collected { items: Entity[], pages: number[], cursors: string[] }

/** Follows next_cursor from the first page to the last; `limits` gives the limit of each page (the last one repeats). */
async function collect (app: FastifyInstance, id: string, limits: number[], extra: Record<string, string> = {}, maxPages = 60): Promise<Collected> {
  const out: Collected = { items: [], pages: [], cursors: [] }
  let cursor: string | null = null
  do {
    const limit = limits[Math.min(out.pages.length, limits.length - 1)]!
    const query: Record<string, string> = { ...extra, limit: String(limit), ...(cursor === null ? {} : { cursor }) }
    const res = await app.inject({ method: 'GET', url: `/person/${id}/versions`, query })
    if (res.statusCode !== 200) throw new Error(`page ${out.pages.length + 1} failed: ${res.statusCode} ${res.body}`)
    const body = json(res)
    if (!Array.isArray(body.items) || body.items.length > limit) throw new Error(`bad page: ${res.body.slice(0, 300)}`)
    out.items.push(...body.items)
    out.pages.push(body.items.length)
    cursor = body.next_cursor
    if (cursor !== null) out.cursors.push(cursor)
  } while (cursor !== null && out.pages.length < maxPages)
  if (cursor !== null) throw new Error(`more than ${maxPages} pages`)
  return out
}

const versionsOf = (items: Entity[]): string[] => items.map((item) => String(item.version))
const newestFirst = (items: Entity[]): Entity[] => [...items].reverse()

t.test('25 versions built through the API page back newest first, with no gaps or duplicates (limit=7)', async (t) => {
  const { app } = await setup(t)
  const versions = await buildHistory(app, 25)
  const id = String(versions[0]!.entity_id)
  t.equal(new Set(versionsOf(versions)).size, 25, '25 distinct versions were written')

  const { items, pages, cursors } = await collect(app, id, [7])
  t.same(pages, [7, 7, 7, 4], 'pages of 7, 7, 7 and 4')
  t.equal(cursors.length, 3, 'a next_cursor on every page but the last')
  t.equal(new Set(cursors).size, 3, 'every cursor is different')
  t.equal(items.length, 25, 'exactly 25 versions')
  t.equal(new Set(versionsOf(items)).size, 25, 'no duplicates')
  t.same(versionsOf(items), versionsOf(newestFirst(versions)), 'newest first: the current version, then the replaced ones')
  t.same(items, newestFirst(versions), 'every version exactly as the write answered it')
  t.equal(items[0]!.version, versions[24]!.version, 'the first item is the current version')
  for (let i = 0; i < items.length - 1; i++) {
    t.equal(items[i]!.previous_version, items[i + 1]!.version, `item ${i} names the next item as its previous_version`)
    t.ok(micros(items[i]!.changed_on) > micros(items[i + 1]!.changed_on), `item ${i} changed later than item ${i + 1}`)
  }
  t.equal(items[24]!.previous_version, ZERO_ID, 'the oldest version names the zero id')
  t.ok(items.every((item) => item.entity_id === id && V7.test(String(item.version))), 'all of this entity, all UUIDv7')
  t.ok(items.slice(1).every((item) => item.active === true), 'all active')

  const first = await app.inject({ method: 'GET', url: `/person/${id}/versions` })
  t.equal(first.statusCode, 200)
  t.match(first.headers['content-type'], /^application\/json/)
  t.equal(json(first).items.length, 20, 'default limit is 20')
  t.type(json(first).next_cursor, 'string')
  t.same(versionsOf(json(first).items), versionsOf(newestFirst(versions)).slice(0, 20))

  const whole = await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { limit: '100' } })
  t.equal(json(whole).items.length, 25, 'limit=100: one page')
  t.equal(json(whole).next_cursor, null, 'and no next_cursor')

  const exact = await collect(app, id, [25])
  t.same(exact.pages, [25], 'limit equal to the history size: one page, no empty page after it')

  const ones = await collect(app, id, [1])
  t.equal(ones.pages.length, 25, 'limit=1: 25 pages')
  t.same(versionsOf(ones.items), versionsOf(newestFirst(versions)), 'limit=1 pages give the same order')

  const mixed = await collect(app, id, [7, 3, 1, 100])
  t.same(versionsOf(mixed.items), versionsOf(newestFirst(versions)), 'changing the limit between pages keeps the order, no gaps')
})

t.test('GET /person/:id/versions/:version answers every version, with its ETag', async (t) => {
  const { app } = await setup(t)
  const versions = await buildHistory(app, 6)
  const id = String(versions[0]!.entity_id)
  for (const [i, version] of versions.entries()) {
    const res = await app.inject({ method: 'GET', url: `/person/${id}/versions/${String(version.version)}` })
    t.equal(res.statusCode, 200, `version ${i}`)
    t.equal(res.headers.etag, etag(version.version), `ETag of version ${i}`)
    t.match(res.headers['content-type'], /^application\/json/)
    t.same(json(res), version, `version ${i} as written`)
  }

  const unknown = newId()
  const missing = await app.inject({ method: 'GET', url: `/person/${id}/versions/${unknown}` })
  const problem = assertProblem(t, missing, 404, { code: 'VERSO_VERSION_NOT_FOUND', instance: `/person/${id}/versions/${unknown}` })
  t.match(problem.detail, unknown, 'the detail names the version')

  const other = await createPerson(app, { first_name: 'Grace' })
  const foreign = await app.inject({ method: 'GET', url: `/person/${id}/versions/${other.version}` })
  assertProblem(t, foreign, 404, { code: 'VERSO_VERSION_NOT_FOUND' })
  const foreignPast = await app.inject({ method: 'GET', url: `/person/${String(other.entity_id)}/versions/${String(versions[1]!.version)}` })
  assertProblem(t, foreignPast, 404, { code: 'VERSO_VERSION_NOT_FOUND' })

  const noEntity = await app.inject({ method: 'GET', url: `/person/${newId()}/versions/${String(versions[0]!.version)}` })
  assertProblem(t, noEntity, 404, { code: 'VERSO_VERSION_NOT_FOUND' })
})

t.test('from/to bound changed_on, inclusively, across pages', async (t) => {
  const { app } = await setup(t)
  const versions = await buildHistory(app, 25)
  const id = String(versions[0]!.entity_id)
  const v = (i: number): Entity => versions[i]!
  /** Oldest-first indexes lo..hi, newest first. */
  const span = (lo: number, hi: number): string[] => versionsOf(newestFirst(versions.slice(lo, hi + 1)))

  const cases: Array<{ name: string, query: Record<string, string>, expected: string[] }> = [
    { name: 'from and to equal to changed_on of versions 5 and 15 include both', query: { from: v(5).changed_on, to: v(15).changed_on }, expected: span(5, 15) },
    { name: '1 µs inside excludes both ends', query: { from: at(v(5).changed_on, 1), to: at(v(15).changed_on, -1) }, expected: span(6, 14) },
    { name: '1 µs outside changes nothing', query: { from: at(v(5).changed_on, -1), to: at(v(15).changed_on, 1) }, expected: span(5, 15) },
    { name: 'from only (version 20)', query: { from: v(20).changed_on }, expected: span(20, 24) },
    { name: 'from the current version only', query: { from: v(24).changed_on }, expected: span(24, 24) },
    { name: 'to only (version 3)', query: { to: v(3).changed_on }, expected: span(0, 3) },
    { name: 'to the creation only', query: { to: v(0).changed_on }, expected: span(0, 0) },
    { name: 'from = to = changed_on of version 10', query: { from: v(10).changed_on, to: v(10).changed_on }, expected: span(10, 10) },
    { name: 'a window between two versions', query: { from: at(v(10).changed_on, 1), to: at(v(11).changed_on, -1) }, expected: [] },
    { name: 'from after the newest version', query: { from: at(v(24).changed_on, 1) }, expected: [] },
    { name: 'to before the creation', query: { to: at(v(0).changed_on, -1) }, expected: [] },
    { name: 'to far in the future', query: { to: '2999-01-01T00:00:00+00:00' }, expected: span(0, 24) },
    { name: 'from far in the past', query: { from: '1999-01-01T00:00:00Z' }, expected: span(0, 24) },
    { name: 'bounds written with Z and with +02:00 name the same instants', query: { from: inZulu(v(5).changed_on), to: inPlusTwo(v(15).changed_on) }, expected: span(5, 15) },
    { name: 'bounds with nanoseconds', query: { from: withNanos(micros(v(5).changed_on) - 1, '999'), to: withNanos(micros(v(15).changed_on), '999') }, expected: span(5, 15) },
    { name: 'bounds with nanoseconds, just outside', query: { from: withNanos(micros(v(5).changed_on) - 1, '000'), to: withNanos(micros(v(15).changed_on) - 1, '999') }, expected: span(5, 14) }
  ]
  for (const c of cases) {
    for (const limits of [[100], [3], [1]]) {
      const { items, pages } = await collect(app, id, limits, c.query)
      t.same(versionsOf(items), c.expected, `${c.name} (limit ${limits[0]!}: pages ${JSON.stringify(pages)})`)
    }
  }

  const window = await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { from: v(5).changed_on, to: v(15).changed_on, limit: '100' } })
  t.same(json(window).items, newestFirst(versions.slice(5, 16)), 'bounded items are whole versions, as written')
  t.equal(json(window).next_cursor, null)
})

t.test('a write between two pages causes no gap and no duplicate', async (t) => {
  const { app } = await setup(t)
  const versions = await buildHistory(app, 12)
  const id = String(versions[0]!.entity_id)
  const first = json(await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { limit: '5' } }))
  t.same(versionsOf(first.items), versionsOf(newestFirst(versions)).slice(0, 5))
  const current = versions[versions.length - 1]!
  const write = await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(current.version) }, payload: { age: 99 } })
  t.equal(write.statusCode, 200)
  const rest: Entity[] = []
  let cursor: string | null = first.next_cursor
  while (cursor !== null) {
    const res = await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { limit: '5', cursor } })
    t.equal(res.statusCode, 200, 'the cursor still works after the write')
    rest.push(...json(res).items)
    cursor = json(res).next_cursor
  }
  t.same(versionsOf([...first.items, ...rest]), versionsOf(newestFirst(versions)), 'the old pages go on where they stopped')
  const fresh = await collect(app, id, [5])
  t.same(versionsOf(fresh.items), [json(write).version, ...versionsOf(newestFirst(versions))], 'a new listing starts at the new version')
})

t.test('a soft-deleted entity keeps its history; an unknown entity is 404', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const id = String(created.entity_id)
  const patched = json(await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(created.version) }, payload: { age: 7 } }))
  const deleted = json(await app.inject({ method: 'DELETE', url: `/person/${id}`, headers: { 'if-match': etag(patched.version) } }))
  t.equal(deleted.active, false)
  t.equal((await app.inject({ method: 'GET', url: `/person/${id}` })).statusCode, 404, 'the entity itself reads as gone')

  const res = await app.inject({ method: 'GET', url: `/person/${id}/versions` })
  t.equal(res.statusCode, 200)
  t.same(json(res), { items: [deleted, patched, created], next_cursor: null }, 'the deleted state first, then the history')
  const paged = await collect(app, id, [2])
  t.same(paged.items, [deleted, patched, created])
  const one = await app.inject({ method: 'GET', url: `/person/${id}/versions/${String(deleted.version)}` })
  t.equal(one.statusCode, 200, 'the deleted version can be read')
  t.same(json(one), deleted)
  t.equal(one.headers.etag, etag(deleted.version))
  const past = await app.inject({ method: 'GET', url: `/person/${id}/versions/${String(created.version)}` })
  t.same(json(past), created)

  const unknown = newId()
  assertProblem(t, await app.inject({ method: 'GET', url: `/person/${unknown}/versions` }), 404, { code: 'VERSO_ENTITY_NOT_FOUND', instance: `/person/${unknown}/versions` })
  assertProblem(t, await app.inject({ method: 'GET', url: `/person/${unknown}/versions`, query: { from: '2020-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' } }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  assertProblem(t, await app.inject({ method: 'GET', url: `/person/${unknown}/versions`, query: { to: '2000-01-01T00:00:00Z' } }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
})

t.test('malformed ids, limits and bounds are 400 problems', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const id = String(created.entity_id)
  const version = String(created.version)

  for (const bad of [version.toUpperCase(), version.slice(0, 31), `${version}0`, `${version.slice(0, 31)}g`, `${version.slice(0, 8)}-${version.slice(8, 31)}`]) {
    const res = await app.inject({ method: 'GET', url: `/person/${id}/versions/${bad}` })
    assertProblem(t, res, 400, { paths: ['/params/version'] })
  }
  for (const bad of [id.toUpperCase(), id.slice(0, 31), 'not-an-id']) {
    assertProblem(t, await app.inject({ method: 'GET', url: `/person/${bad}/versions` }), 400, { paths: ['/params/id'] })
    assertProblem(t, await app.inject({ method: 'GET', url: `/person/${bad}/versions/${version}` }), 400, { paths: ['/params/id'] })
  }

  for (const limit of ['0', '101', '-1', 'abc', '1.5', '']) {
    const res = await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { limit } })
    assertProblem(t, res, 400, { paths: ['/querystring/limit'] })
  }
  for (const name of ['from', 'to']) {
    for (const value of ['yesterday', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-11-26T25:00:00Z', '2026-11-26', '2026-11-26T23:51:48', '', '1764201108540']) {
      const res = await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { [name]: value } })
      t.equal(res.statusCode, 400, `${name}=${JSON.stringify(value)} → 400`)
      const problem = assertProblem(t, res, 400)
      t.match(JSON.stringify(problem), name, `the problem names ${name}`)
    }
  }
  assertProblem(t, await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { since: '2026-01-01T00:00:00Z' } }), 400, { paths: ['/querystring/since'] })

  // from after to selects nothing: a 400 that says so, or an empty page; never a 500.
  const later = await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(version) }, payload: { age: 1 } })
  const inverted: Array<Record<string, string>> = [
    { from: '2026-11-27T00:00:00Z', to: '2026-11-26T00:00:00Z' },
    { from: String(json(later).changed_on), to: String(created.changed_on) },
    { from: '2030-01-01T00:00:00Z', to: '2020-01-01T00:00:00Z', limit: '1' }
  ]
  for (const query of inverted) {
    const res = await app.inject({ method: 'GET', url: `/person/${id}/versions`, query })
    t.ok(res.statusCode < 500, `from ${query.from!} after to ${query.to!}: not a server error (got ${res.statusCode})`)
    if (res.statusCode === 200) {
      t.same(json(res), { items: [], next_cursor: null }, 'an empty page')
    } else if (res.statusCode < 500) {
      const problem = assertProblem(t, res, 400)
      t.match(problem.detail, /from|to/, 'the problem names the bounds')
    }
  }
})

t.test('tampered or foreign cursors are 400 problems', async (t) => {
  const { app } = await setup(t)
  const versions = await buildHistory(app, 9)
  const id = String(versions[0]!.entity_id)
  const page = json(await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { limit: '3' } }))
  const cursor = String(page.next_cursor)
  t.match(cursor, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'an opaque, URL-safe cursor')
  const next = async (c: string, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { limit: '3', ...extra, cursor: c } })
  t.equal((await next(cursor)).statusCode, 200, 'the cursor as issued works')

  const flip = (text: string, i: number): string => text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1)
  const dot = cursor.indexOf('.')
  const tampered: Array<[string, string]> = [
    ['a character of the body flipped', flip(cursor, 0)],
    ['a character in the middle of the body flipped', flip(cursor, Math.floor(dot / 2))],
    ['the last character of the body flipped', flip(cursor, dot - 1)],
    ['a character of the signature flipped', flip(cursor, dot + 1)],
    ['the last character of the signature flipped', flip(cursor, cursor.length - 1)],
    ['the signature cut short', cursor.slice(0, -1)],
    ['no signature', cursor.slice(0, dot)],
    ['an extra part', `${cursor}.x`],
    ['the body re-encoded with another next version', `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(cursor.slice(0, dot), 'base64url').toString()), after: String(versions[0]!.version) })).toString('base64url')}${cursor.slice(dot)}`],
    ['garbage', 'abc'],
    ['base64 JSON without a signature', Buffer.from('{"after":"x","next":"y"}').toString('base64url')]
  ]
  for (const [name, value] of tampered) {
    const res = await next(value)
    const problem = assertProblem(t, res, 400, { code: 'VERSO_BAD_REQUEST' })
    t.match(problem.detail, /cursor/, `${name}: the detail names the cursor`)
  }
  assertProblem(t, await next(''), 400)

  // Another entity's cursor.
  const other = await buildHistory(app, 5)
  const otherCursor = String(json(await app.inject({ method: 'GET', url: `/person/${String(other[0]!.entity_id)}/versions`, query: { limit: '2' } })).next_cursor)
  assertProblem(t, await next(otherCursor), 400, { code: 'VERSO_BAD_REQUEST' })
  const reverse = await app.inject({ method: 'GET', url: `/person/${String(other[0]!.entity_id)}/versions`, query: { limit: '2', cursor } })
  assertProblem(t, reverse, 400, { code: 'VERSO_BAD_REQUEST' })

  // A cursor of the entity list (GET /person), and the other way round.
  const list = json(await app.inject({ method: 'GET', url: '/person', query: { limit: '1' } }))
  t.type(list.next_cursor, 'string', 'the list has a second page')
  assertProblem(t, await next(String(list.next_cursor)), 400, { code: 'VERSO_BAD_REQUEST' })
  assertProblem(t, await app.inject({ method: 'GET', url: '/person', query: { limit: '1', cursor } }), 400, { code: 'VERSO_BAD_REQUEST' })

  // A cursor of a bounded listing is bound to its bounds (the same instants may be written differently).
  const from = String(versions[1]!.changed_on)
  const to = String(versions[7]!.changed_on)
  const bounded = json(await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { limit: '3', from, to } }))
  const boundedCursor = String(bounded.next_cursor)
  assertProblem(t, await next(boundedCursor), 400, { code: 'VERSO_BAD_REQUEST' })
  assertProblem(t, await next(boundedCursor, { from, to: String(versions[8]!.changed_on) }), 400, { code: 'VERSO_BAD_REQUEST' })
  assertProblem(t, await next(cursor, { from, to }), 400, { code: 'VERSO_BAD_REQUEST' })
  const same = await next(boundedCursor, { from: inZulu(from), to: inPlusTwo(to) })
  t.equal(same.statusCode, 200, 'the same bounds written another way keep the cursor valid')
  const rest = await collect(app, id, [3], { from, to })
  t.same(versionsOf([...bounded.items, ...json(same).items]), versionsOf(rest.items).slice(0, bounded.items.length + json(same).items.length))
})

t.test('a model that is not versioned answers the history routes with 405', async (t) => {
  const It = defineModel({ name: 'It', versioned: false, schema: Type.Object({ name: Type.String() }), example: { name: 'x' } })
  const { app } = await setup(t, { models: [It] })
  const created = await app.inject({ method: 'POST', url: '/it', payload: { name: 'thing' } })
  t.equal(created.statusCode, 201)
  const id = String(json(created).entity_id)
  const version = newId()
  const requests: InjectOptions[] = [
    { method: 'GET', url: `/it/${id}/versions` },
    { method: 'GET', url: `/it/${id}/versions?limit=5` },
    { method: 'GET', url: `/it/${newId()}/versions` },
    { method: 'GET', url: `/it/${id}/versions/${version}` },
    { method: 'GET', url: `/it/${id}/versions/${version}/diff` },
    { method: 'GET', url: `/it/${id}/versions/${version}/diff?to=${newId()}&include_meta=true` },
    { method: 'POST', url: `/it/${id}/versions/${version}/restore`, headers: { 'if-match': etag(version) } },
    { method: 'POST', url: `/it/${id}/versions/${version}/restore`, payload: { version } },
    { method: 'POST', url: `/it/${id}/versions/${version}/restore` }
  ]
  for (const request of requests) {
    const res = await app.inject(request)
    const problem = assertProblem(t, res, 405, { code: 'VERSO_NOT_VERSIONED' })
    t.match(problem.detail, /It/, `${String(request.method)} ${String(request.url)}: the detail names the model`)
  }
  const read = await app.inject({ method: 'GET', url: `/it/${id}` })
  t.equal(read.statusCode, 200, 'the entity itself is still there')
  t.same(json(read), { entity_id: id, name: 'thing' })
})
