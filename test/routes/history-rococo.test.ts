import t from 'tap'
import { randomUUID } from 'node:crypto'
import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { applyPatch, type Operation } from 'rfc6902'
import { Person } from '../../src/models/person.js'
import { formatTimestamp, parseTimestampMicros, ZERO_ID } from '../../src/models/entity.js'
import { setup, json, etag, type TestContext } from '../support/helper.js'
import { assertProblem, newId, SERVER_FIELDS } from './support.js'

// Histories written by the Python library Rococo: versions are random UUIDv4 (their key order is not their time
// order), changed_on is Python's isoformat() with microseconds, declared objects are JSON text in S. verso must
// list them, answer as_of, diff and restore them, and write on top of them, mixed with its own UUIDv7 versions.

type Entity = Record<string, any>
type Row = Record<string, AttributeValue>

const V4 = /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/
const V7 = /^[0-9a-f]{12}7[0-9a-f]{19}$/
/** Rococo's writer: some service's user id. */
const ACTOR = 'b3f1c2d4e5f6478990aabbccddeeff00'

const micros = (changedOn: unknown): number => {
  const value = parseTimestampMicros(String(changedOn))
  if (value === undefined) throw new Error(`not a timestamp: ${String(changedOn)}`)
  return value
}
const fieldsOf = (entity: Entity): Entity => Object.fromEntries(Object.entries(entity).filter(([key]) => !SERVER_FIELDS.includes(key)))
const byPath = (a: { path: string }, b: { path: string }): number => a.path.localeCompare(b.path)
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

/** A random UUIDv4 (hex) starting with `prefix`, so that tests can place it in the key order. */
const uuid4 = (prefix: string): string => {
  if (prefix.length > 12) throw new Error('prefix too long')
  return prefix + randomUUID().replaceAll('-', '').slice(prefix.length)
}

/** json.dumps as Python writes it (", " and ": "). */
const pyJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v)}`).join(', ')}}`
  return JSON.stringify(value)
}

/** The item Rococo's DynamoDB adapter stores for a Person version. */
const rococoItem = (entity: Entity): Row => {
  const row: Row = {
    entity_id: { S: entity.entity_id },
    version: { S: entity.version },
    previous_version: { S: entity.previous_version },
    active: { BOOL: entity.active },
    changed_by_id: { S: entity.changed_by_id },
    changed_on: { S: entity.changed_on },
    first_name: { S: entity.first_name },
    last_name: { S: entity.last_name }
  }
  if (entity.age !== undefined) row.age = { N: String(entity.age) }
  if (entity.metadata !== undefined) row.metadata = { S: pyJson(entity.metadata) }
  return row
}

interface Spec { key: string, changedOn: string, fields: Entity }

/** A chain of Rococo versions (oldest first), as verso should read them back. */
function rococoChain (id: string, specs: Spec[], previous = ZERO_ID): Entity[] {
  const chain: Entity[] = []
  for (const spec of specs) {
    const version = uuid4(spec.key)
    chain.push({ ...spec.fields, entity_id: id, version, previous_version: chain[chain.length - 1]?.version ?? previous, active: true, changed_by_id: ACTOR, changed_on: spec.changedOn })
  }
  return chain
}

async function put (ctx: TestContext, table: string, entity: Entity): Promise<void> {
  await ctx.client.send(new PutItemCommand({ TableName: table, Item: rococoItem(entity) }))
}

/** Writes a chain the way Rococo leaves it: the replaced versions in the audit table, the last one in the main table. */
async function writeRococoHistory (ctx: TestContext, chain: Entity[]): Promise<void> {
  const { main, audit } = ctx.tables(Person)
  for (const entity of chain.slice(0, -1)) await put(ctx, audit, entity)
  await put(ctx, main, chain[chain.length - 1]!)
}

async function rawMain (ctx: TestContext, id: string): Promise<Row> {
  const { Item } = await ctx.client.send(new GetItemCommand({ TableName: ctx.tables(Person).main, Key: { entity_id: { S: id } }, ConsistentRead: true }))
  if (Item === undefined) throw new Error(`no main item ${id}`)
  return Item
}

const versionsOf = (items: Entity[]): string[] => items.map((item) => String(item.version))
const newestFirst = (items: Entity[]): Entity[] => [...items].reverse()

/** Follows next_cursor to the end; `limits` gives each page's limit (the last repeats). */
async function collect (app: FastifyInstance, id: string, limits: number[], extra: Record<string, string> = {}): Promise<{ items: Entity[], pages: number[] }> {
  const items: Entity[] = []
  const pages: number[] = []
  let cursor: string | null = null
  do {
    const limit = limits[Math.min(pages.length, limits.length - 1)]!
    const res = await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { ...extra, limit: String(limit), ...(cursor === null ? {} : { cursor }) } })
    if (res.statusCode !== 200) throw new Error(`page ${pages.length + 1}: ${res.statusCode} ${res.body}`)
    const body = json(res)
    if (body.items.length > limit) throw new Error(`page longer than ${limit}`)
    items.push(...body.items)
    pages.push(body.items.length)
    cursor = body.next_cursor
  } while (cursor !== null && pages.length < 60)
  return { items, pages }
}

/** The version current at `us` (versions oldest first). */
const currentAt = (versions: Entity[], us: number): Entity | undefined => newestFirst(versions).find((v) => micros(v.changed_on) <= us)

/** Instants around every version: at it, 1 µs and 1 ms either side, and half way to the next one. */
function probes (versions: Entity[]): number[] {
  const out: number[] = []
  versions.forEach((v, i) => {
    const us = micros(v.changed_on)
    out.push(us, us - 1, us + 1, us - 1000, us + 1000)
    const next = versions[i + 1]
    if (next !== undefined) out.push(Math.floor((us + micros(next.changed_on)) / 2))
  })
  out.push(micros(versions[0]!.changed_on) - 86_400_000_000, micros(versions[versions.length - 1]!.changed_on) + 86_400_000_000)
  return out
}

async function checkAsOf (t: Test, app: FastifyInstance, versions: Entity[], label: string): Promise<void> {
  const id = String(versions[0]!.entity_id)
  let wrong = 0
  for (const us of probes(versions)) {
    const when = formatTimestamp(us)
    const expected = currentAt(versions, us)
    const res = await app.inject({ method: 'GET', url: `/person/${id}`, query: { as_of: when } })
    const got = res.statusCode === 200 ? json(res).version : res.statusCode
    const want = expected === undefined ? 404 : expected.version
    const name = (v: unknown): string => {
      const i = versions.findIndex((x) => x.version === v)
      return i === -1 ? String(v) : `version ${i + 1}`
    }
    if (got !== want) wrong++
    t.equal(name(got), name(want), `${label}: as_of ${when} → ${name(want)}`)
    if (expected !== undefined && got === want) {
      t.same(json(res), expected, `${label}: as_of ${when}: the whole version`)
      t.equal(res.headers.etag, etag(expected.version), `${label}: as_of ${when}: its ETag`)
    }
    if (expected === undefined && got === want) t.equal(json(res).code, 'VERSO_ENTITY_NOT_FOUND', `${label}: as_of ${when}: not there yet`)
  }
  t.equal(wrong, 0, `${label}: every as_of instant answered right`)
}

async function checkListing (t: Test, app: FastifyInstance, versions: Entity[], label: string): Promise<void> {
  const id = String(versions[0]!.entity_id)
  const expected = newestFirst(versions)
  for (const limits of [[3], [1], [2], [4], [100], [3, 1, 5]]) {
    const { items, pages } = await collect(app, id, limits)
    t.same(versionsOf(items), versionsOf(expected), `${label}: limit ${JSON.stringify(limits)} gives every version, newest first (pages ${JSON.stringify(pages)})`)
    t.equal(new Set(versionsOf(items)).size, items.length, `${label}: no duplicates`)
  }
  const { items } = await collect(app, id, [3])
  t.same(items, expected, `${label}: every version read as stored`)
  for (let i = 0; i < items.length - 1; i++) t.equal(items[i]!.previous_version, items[i + 1]!.version, `${label}: item ${i} links to item ${i + 1}`)
  t.equal(items[items.length - 1]?.previous_version, ZERO_ID, `${label}: the oldest names the zero id`)
}

/** from/to windows whose bounds are versions' changed_on (inclusive), 1 µs inside, and in the same millisecond. */
async function checkWindows (t: Test, app: FastifyInstance, versions: Entity[], label: string): Promise<void> {
  const id = String(versions[0]!.entity_id)
  const n = versions.length
  const select = (from?: number, to?: number): string[] => versionsOf(newestFirst(versions.filter((v) => (from === undefined || micros(v.changed_on) >= from) && (to === undefined || micros(v.changed_on) <= to))))
  const windows: Array<[number | undefined, number | undefined]> = []
  for (let i = 0; i < n; i++) {
    const us = micros(versions[i]!.changed_on)
    windows.push([us, undefined], [undefined, us], [us + 1, undefined], [undefined, us - 1], [us, us])
    for (let j = i + 1; j < n; j += 2) {
      const end = micros(versions[j]!.changed_on)
      windows.push([us, end], [us + 1, end - 1])
    }
  }
  let wrong = 0
  for (const [from, to] of windows) {
    const query: Record<string, string> = {}
    if (from !== undefined) query.from = formatTimestamp(from)
    if (to !== undefined) query.to = formatTimestamp(to)
    const expected = select(from, to)
    for (const limits of [[100], [2]]) {
      const { items } = await collect(app, id, limits, query)
      const ok = JSON.stringify(versionsOf(items)) === JSON.stringify(expected)
      if (!ok) wrong++
      t.same(versionsOf(items).map((v) => versionsOf(versions).indexOf(v) + 1), expected.map((v) => versionsOf(versions).indexOf(v) + 1),
        `${label}: from=${query.from ?? '-'} to=${query.to ?? '-'} limit ${limits[0]!}`)
    }
  }
  t.equal(wrong, 0, `${label}: every from/to window selected exactly the versions inside it`)
}

async function diff (app: FastifyInstance, id: string, from: string, query: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url: `/person/${id}/versions/${from}/diff`, query })
}

const BASE_FIELDS = { first_name: 'Ada', last_name: 'Byron' }

/**
 * Eight Rococo versions. Times: microseconds, one without a fraction, two in the same millisecond. Keys: time
 * order V1..V8 is c, 3, f, 00, 1, a, e, 7 by first digits; '00…' sorts before every UUIDv7 of today, the others
 * after it; so key order and time order disagree everywhere.
 */
const EIGHT: Spec[] = [
  { key: 'c', changedOn: '2025-03-14T09:26:53.589793+00:00', fields: { ...BASE_FIELDS, age: 17, metadata: { team: 'poets' } } },
  { key: '3', changedOn: '2025-03-14T09:27:54.000100+00:00', fields: { ...BASE_FIELDS, last_name: 'King', age: 17, metadata: { team: 'poets' } } },
  { key: 'f', changedOn: '2025-03-14T09:27:54.000400+00:00', fields: { ...BASE_FIELDS, last_name: 'King', age: 18, metadata: { team: 'poets', tags: ['a'] } } },
  { key: '00', changedOn: '2025-03-14T10:00:00+00:00', fields: { first_name: 'Augusta Ada', last_name: 'King', age: 19, metadata: { team: 'math', tags: ['a', 'b'] } } },
  { key: '1', changedOn: '2025-03-15T08:00:00.000001+00:00', fields: { first_name: 'Augusta Ada', last_name: 'King' } },
  { key: 'a', changedOn: '2025-04-01T12:30:45.123456+00:00', fields: { first_name: 'Ada', last_name: 'King', age: 27, metadata: { team: 'engines', nested: { deep: { er: 1 } } } } },
  { key: 'e', changedOn: '2025-04-01T12:30:45.999999+00:00', fields: { first_name: 'Ada', last_name: 'Lovelace', age: 27, metadata: { team: 'engines', nested: { deep: { er: 2 } } } } },
  { key: '7', changedOn: '2025-06-30T23:59:59.500000+00:00', fields: { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines', notes: 'Note G' } } }
]

t.test('a Rococo history (UUIDv4 versions out of time order) reads, pages, answers as_of and diffs; verso writes on top', async (t) => {
  const ctx = await setup(t)
  const { app } = ctx
  const id = newId()
  const chain = rococoChain(id, EIGHT)
  t.ok(chain.every((v) => V4.test(v.version)), 'UUIDv4 versions')
  const keyOrder = [...chain].sort((a, b) => String(a.version).localeCompare(String(b.version)))
  t.notSame(versionsOf(keyOrder), versionsOf(chain), 'key order is not time order')
  t.notSame(versionsOf(keyOrder), versionsOf(newestFirst(chain)), 'nor its reverse')
  t.ok(chain.some((v) => /^[a-f]/.test(v.version)), 'some versions start with a letter')
  await writeRococoHistory(ctx, chain)

  const current = await app.inject({ method: 'GET', url: `/person/${id}` })
  t.equal(current.statusCode, 200)
  t.same(json(current), chain[7], 'the current Rococo version, metadata parsed from its JSON text')
  t.equal(current.headers.etag, etag(chain[7]!.version))

  await checkListing(t, app, chain, 'Rococo')
  for (const [i, v] of chain.entries()) {
    const res = await app.inject({ method: 'GET', url: `/person/${id}/versions/${String(v.version)}` })
    t.equal(res.statusCode, 200, `version ${i + 1} by id`)
    t.same(json(res), v)
    t.equal(res.headers.etag, etag(v.version))
  }
  await checkWindows(t, app, chain, 'Rococo')
  await checkAsOf(t, app, chain, 'Rococo')

  // Diffs between Rococo versions.
  for (const [i, j] of [[0, 7], [1, 2], [2, 1], [3, 4], [4, 5], [5, 6], [0, 5], [7, 0]] as const) {
    const source = chain[i]!
    const target = chain[j]!
    const res = await diff(app, id, String(source.version), { to: String(target.version) })
    t.equal(res.statusCode, 200, `diff ${i + 1} → ${j + 1}`)
    t.match(res.headers['content-type'], /^application\/json-patch\+json/)
    const doc = clone(fieldsOf(source))
    t.ok(applyPatch(doc, json(res) as Operation[]).every((e) => e === null))
    t.same(doc, fieldsOf(target), `diff ${i + 1} → ${j + 1} turns the fields of one into the other`)
    const full = clone(source)
    applyPatch(full, json(await diff(app, id, String(source.version), { to: String(target.version), include_meta: 'true' })))
    t.same(full, target, `include_meta diff ${i + 1} → ${j + 1}`)
  }
  const small = json(await diff(app, id, String(chain[1]!.version), { to: String(chain[2]!.version) })) as Operation[]
  t.same([...small].sort(byPath), [{ op: 'replace', path: '/age', value: 18 }, { op: 'add', path: '/metadata/tags', value: ['a'] }].sort(byPath), 'diff 2 → 3 names just what changed')
  const implicit = await diff(app, id, String(chain[3]!.version))
  const doc = clone(fieldsOf(chain[3]!))
  applyPatch(doc, json(implicit))
  t.same(doc, fieldsOf(chain[7]!), 'to defaults to the current (Rococo) version')

  // verso writes on top, based on the current UUIDv4 version.
  const rawBefore = await rawMain(ctx, id)
  assertProblem(t, await app.inject({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(chain[6]!.version) }, payload: { first_name: 'Ada', last_name: 'L' } }), 412, { code: 'VERSO_PRECONDITION_FAILED' })
  const put = await app.inject({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(chain[7]!.version) }, payload: { first_name: 'Ada', last_name: 'Lovelace', age: 37, metadata: { team: 'engines' } } })
  t.equal(put.statusCode, 200, 'PUT with If-Match of the current UUIDv4 version')
  const ninth = json(put)
  t.match(ninth.version, V7, 'verso writes a UUIDv7')
  t.equal(ninth.previous_version, chain[7]!.version, 'linked to the Rococo version')
  t.ok(micros(ninth.changed_on) > micros(chain[7]!.changed_on))
  const auditOfEighth = (await ctx.scanRaw(ctx.tables(Person).audit)).find((r) => r.version?.S === chain[7]!.version)
  t.same(auditOfEighth, rawBefore, 'the Rococo version was audited exactly as Rococo stored it')

  const nine = [...chain, ninth]
  await checkListing(t, app, nine, 'Rococo + verso')
  await checkWindows(t, app, nine, 'Rococo + verso')
  await checkAsOf(t, app, nine, 'Rococo + verso')
  const onTop = json(await diff(app, id, String(chain[7]!.version))) as Operation[]
  t.same([...onTop].sort(byPath), [{ op: 'replace', path: '/age', value: 37 }, { op: 'remove', path: '/metadata/notes' }].sort(byPath), 'diff from the last Rococo version to the verso one')

  // Restore a Rococo version: its attributes come back exactly as Rococo stored them.
  const restore = await app.inject({ method: 'POST', url: `/person/${id}/versions/${String(chain[3]!.version)}/restore`, headers: { 'if-match': etag(ninth.version) } })
  t.equal(restore.statusCode, 200, 'restore of a Rococo version')
  const restored = json(restore)
  t.same(fieldsOf(restored), fieldsOf(chain[3]!))
  t.equal(restored.previous_version, ninth.version)
  const raw = await rawMain(ctx, id)
  t.same(raw.metadata, { S: pyJson(chain[3]!.metadata) }, 'the JSON text is Rococo\'s, byte for byte')
  t.same(json(await diff(app, id, String(chain[3]!.version))), [], 'diff with the restored version: []')
  await checkListing(t, app, [...nine, restored], 'after restore')
  await checkAsOf(t, app, [...nine, restored], 'after restore')
})

t.test('a Rococo history whose first version has the smallest key', async (t) => {
  // Time order V1..V6 with first digits 1, d, 5, b, 8, e: no key sorts before today's UUIDv7s, and V1's key is
  // the smallest of all.
  const ctx = await setup(t)
  const { app } = ctx
  const id = newId()
  const chain = rococoChain(id, [
    { key: '1', changedOn: '2025-05-01T08:00:00.250000+00:00', fields: { first_name: 'Grace', last_name: 'Murray', age: 20 } },
    { key: 'd', changedOn: '2025-05-02T08:00:00.250000+00:00', fields: { first_name: 'Grace', last_name: 'Hopper', age: 24 } },
    { key: '5', changedOn: '2025-05-03T08:00:00+00:00', fields: { first_name: 'Grace', last_name: 'Hopper', age: 37, metadata: { rank: 'lieutenant' } } },
    { key: 'b', changedOn: '2025-05-04T08:00:00.000001+00:00', fields: { first_name: 'Grace', last_name: 'Hopper', age: 46, metadata: { rank: 'commander' } } },
    { key: '8', changedOn: '2025-05-05T08:00:00.999999+00:00', fields: { first_name: 'Grace', last_name: 'Hopper', age: 79, metadata: { rank: 'rear admiral' } } },
    { key: 'e', changedOn: '2025-05-06T08:00:00.123456+00:00', fields: { first_name: 'Grace', last_name: 'Hopper', age: 85, metadata: { rank: 'rear admiral', retired: true } } }
  ])
  await writeRococoHistory(ctx, chain)
  await checkListing(t, app, chain, 'smallest-key first version')
  await checkAsOf(t, app, chain, 'smallest-key first version')
  await checkWindows(t, app, chain, 'smallest-key first version')

  const put = await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(chain[5]!.version) }, payload: { age: 86 } })
  t.equal(put.statusCode, 200)
  const seven = [...chain, json(put)]
  await checkListing(t, app, seven, 'smallest-key first version + verso')
  await checkAsOf(t, app, seven, 'smallest-key first version + verso')
  await checkWindows(t, app, seven, 'smallest-key first version + verso')
})

t.test('a mixed history: Rococo, then verso, then Rococo again, then verso', async (t) => {
  const ctx = await setup(t)
  const { app } = ctx
  const id = newId()
  const rococo = rococoChain(id, [
    { key: 'b', changedOn: '2025-08-01T00:00:00.000001+00:00', fields: { first_name: 'Katherine', last_name: 'Coleman', age: 18 } },
    { key: '00', changedOn: '2025-08-01T00:00:00.000999+00:00', fields: { first_name: 'Katherine', last_name: 'Goble', age: 21 } },
    { key: 'e', changedOn: '2025-09-09T09:09:09+00:00', fields: { first_name: 'Katherine', last_name: 'Johnson', age: 41, metadata: { at: 'NASA' } } }
  ])
  await writeRococoHistory(ctx, rococo)
  const versions = [...rococo]
  for (const payload of [{ age: 50 }, { metadata: { at: 'NASA', mission: 'Apollo 11' } }, { age: 51 }]) {
    const res = await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(versions[versions.length - 1]!.version) }, payload })
    t.equal(res.statusCode, 200, 'verso patch')
    versions.push(json(res))
  }
  t.ok(versions.slice(3).every((v) => V7.test(v.version)))

  // Rococo writes again: the replaced (verso) item goes to the audit table as stored, the new one to main.
  const lastVerso = versions[versions.length - 1]!
  const replacedRaw = await rawMain(ctx, id)
  await ctx.client.send(new PutItemCommand({ TableName: ctx.tables(Person).audit, Item: replacedRaw }))
  const [rococoAgain] = rococoChain(id, [
    { key: '2', changedOn: formatTimestamp(micros(lastVerso.changed_on) + 1_234_567), fields: { first_name: 'Katherine', last_name: 'Johnson', age: 51, metadata: { at: 'NASA', medal: 'Presidential Medal of Freedom' } } }
  ], String(lastVerso.version))
  await put(ctx, ctx.tables(Person).main, rococoAgain!)
  versions.push(rococoAgain!)
  t.equal(versions.length, 7)

  await checkListing(t, app, versions, 'mixed')
  await checkAsOf(t, app, versions, 'mixed')
  await checkWindows(t, app, versions, 'mixed')
  for (const v of versions) t.same(json(await app.inject({ method: 'GET', url: `/person/${id}/versions/${String(v.version)}` })), v)
  const doc = clone(fieldsOf(versions[1]!))
  applyPatch(doc, json(await diff(app, id, String(versions[1]!.version), { to: String(versions[4]!.version) })))
  t.same(doc, fieldsOf(versions[4]!), 'diff from a Rococo version to a verso one')

  const res = await app.inject({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(rococoAgain!.version) }, payload: { first_name: 'Katherine', last_name: 'Johnson', age: 101 } })
  t.equal(res.statusCode, 200, 'verso writes on top of the Rococo version again')
  t.equal(json(res).previous_version, rococoAgain!.version)
  versions.push(json(res))
  await checkListing(t, app, versions, 'mixed + verso')
  await checkAsOf(t, app, versions, 'mixed + verso')
  await checkWindows(t, app, versions, 'mixed + verso')
})
