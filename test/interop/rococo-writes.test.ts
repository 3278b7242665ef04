import t, { type Test } from 'tap'
import { GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb'
import { applyPatch, type Operation } from 'rfc6902'
import { Book } from '../../src/models/book.js'
import { Person } from '../../src/models/person.js'
import { Type } from 'typebox'
import { defineModel, type Model } from '../../src/models/define.js'
import { setup, json, etag, type TestContext } from '../support/helper.js'
import { Article, interopModels, RococoArticle, RococoBook, RococoPerson } from './models.js'
import { getUuidHex, loadRococo, nowMicros, pyIsoformat, pyJsonDumps, RococoRepository, type Instance } from './rococo.js'

// Rococo writes, verso reads: items written exactly as Rococo's DynamoDbRepository writes them (see ./rococo.ts for
// the Python source each step mirrors), then read, listed, updated and shown with their history through verso's
// HTTP API. test/routes/history-rococo.test.ts covers long Rococo histories with hand-made items; this file drives
// Rococo's save path itself (its audit copies, its conditions) and interleaves the two writers.

type Row = Record<string, AttributeValue>

const V4 = /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/
const V7 = /^[0-9a-f]{12}7[0-9a-f]{19}$/
const ZERO = '00000000000040008000000000000000'
/** The Rococo service's user_id. */
const WRITER = '5f0c1e2d3b4a49788a6b5c4d3e2f1a0b'
const BUTLER = 'Octavia E. Butler'
const SERVER = ['entity_id', 'version', 'previous_version', 'active', 'changed_by_id', 'changed_on']

/** What verso answers for a Rococo instance: None is not stored, so it is not there. */
const asEntity = (instance: Instance): Instance => Object.fromEntries(Object.entries(instance).filter(([, v]) => v !== null && v !== undefined))
const fieldsOf = (entity: Instance): Instance => Object.fromEntries(Object.entries(entity).filter(([k]) => !SERVER.includes(k)))
const snapshot = (instance: Instance): Instance => structuredClone(asEntity(instance))

/** A clock that answers the given instants (microseconds) first, then the real time. */
function clockOf (instants: number[]): () => number {
  return () => instants.shift() ?? nowMicros()
}
const at = (iso: string): number => Date.parse(iso) * 1000

async function raw (ctx: TestContext, table: string, id: string): Promise<Row | undefined> {
  return (await ctx.client.send(new GetItemCommand({ TableName: table, Key: { entity_id: { S: id } }, ConsistentRead: true }))).Item
}
async function auditRows (ctx: TestContext, model: Model, id: string): Promise<Row[]> {
  return (await ctx.scanRaw(ctx.tables(model).audit)).filter((row) => row.entity_id?.S === id)
}
async function versions (ctx: TestContext, path: string, id: string): Promise<Instance[]> {
  const res = await ctx.app.inject({ method: 'GET', url: `/${path}/${id}/versions`, query: { limit: '100' } })
  if (res.statusCode !== 200) throw new Error(`versions: ${res.statusCode} ${res.body}`)
  return json(res).items
}

for (const savePath of ['documented', 'published'] as const) {
  t.test(`books saved by Rococo (${savePath} save path): verso reads, lists (index and scan), shows history, writes on top; Rococo writes on top again`, async (t) => { await books(t, savePath) })
}

async function books (t: Test, savePath: 'documented' | 'published'): Promise<void> {
  const ctx = await setup(t, { models: interopModels })
  const { app } = ctx
  const clock = clockOf([
    at('2025-02-03T04:05:06.000Z') + 123_456, at('2025-02-10T00:00:00.000Z'), at('2025-03-01T12:00:00.000Z') + 1,
    at('2025-02-04T10:00:00.000Z') + 500_000, at('2025-02-05T10:00:00.000Z') + 250, at('2025-02-06T10:00:00.000Z') + 999_999,
    at('2025-02-07T10:00:00.000Z') + 42
  ])
  const rococo = new RococoRepository(ctx.client, RococoBook, { prefix: ctx.prefix, userId: WRITER, clock, savePath })
  t.equal(rococo.table, ctx.tables(Book).main, 'Rococo\'s table for class Book is verso\'s (the lower-cased class name)')
  t.equal(rococo.auditTable, ctx.tables(Book).audit)

  // Kindred: created, then two updates, all by Rococo.
  const kindred = rococo.newInstance({ title: 'Kindred', author: BUTLER, status: 'to_read' })
  await rococo.save(kindred)
  const k1 = snapshot(kindred)
  t.same(await raw(ctx, rococo.table, String(kindred.entity_id)), {
    entity_id: { S: kindred.entity_id },
    version: { S: k1.version },
    previous_version: { S: ZERO },
    active: { BOOL: true },
    changed_by_id: { S: WRITER },
    changed_on: { S: '2025-02-03T04:05:06.123456+00:00' },
    title: { S: 'Kindred' },
    author: { S: BUTLER },
    status: { S: 'to_read' }
  }, 'the item Rococo writes: uuid4 hex ids, zero-id previous_version, isoformat() changed_on, rating None left out')
  t.match(kindred.entity_id, V4)
  t.match(k1.version, V4)
  kindred.status = 'reading'
  await rococo.save(kindred)
  const k2 = snapshot(kindred)
  kindred.status = 'finished'
  kindred.rating = 5
  await rococo.save(kindred)
  const k3 = snapshot(kindred)
  t.equal(k2.changed_on, '2025-02-10T00:00:00+00:00', 'no fraction when the microseconds are 0, as isoformat() writes')
  t.same((await auditRows(ctx, Book, String(kindred.entity_id))).map((r) => r.version?.S).sort(), [k1.version, k2.version].sort(), 'Rococo audited the two replaced versions')

  const parable = rococo.newInstance({ title: 'Parable of the Sower', author: BUTLER, status: 'reading' })
  await rococo.save(parable)
  const dawn = rococo.newInstance({ title: 'Dawn', author: BUTLER })
  await rococo.save(dawn)
  await rococo.delete(dawn)
  t.equal((await raw(ctx, rococo.table, String(dawn.entity_id)))?.active?.BOOL, false, 'Rococo\'s delete is a soft delete')
  const other = rococo.newInstance({ title: 'The Dispossessed', author: 'Ursula K. Le Guin', status: 'finished', rating: 5 })
  await rococo.save(other)

  // Read.
  const id = String(kindred.entity_id)
  const got = await app.inject({ method: 'GET', url: `/book/${id}` })
  t.equal(got.statusCode, 200)
  t.same(json(got), k3, 'verso reads Rococo\'s current version field for field')
  t.equal(got.headers.etag, etag(k3.version))
  t.equal((await app.inject({ method: 'GET', url: `/book/${String(dawn.entity_id)}` })).statusCode, 404, 'Rococo\'s soft delete hides the entity')
  t.same(json(await app.inject({ method: 'GET', url: `/book/${String(dawn.entity_id)}`, query: { include_deleted: 'true' } })), snapshot(dawn))

  // List by the author index and by scan.
  const byAuthor = await app.inject({ method: 'GET', url: '/book', query: { author: BUTLER, title: 'exists.true' } })
  t.equal(byAuthor.headers['x-query-plan'], 'index:author', 'Query on the author index')
  t.same(json(byAuthor).items, [k3, snapshot(parable)], 'Rococo\'s items on the index, sorted by title, the deleted one left out')
  const withDeleted = await app.inject({ method: 'GET', url: '/book', query: { author: BUTLER, title: 'exists.true', include_deleted: 'true' } })
  t.same(json(withDeleted).items.map((b: Instance) => b.title), ['Dawn', 'Kindred', 'Parable of the Sower'])
  const finished = await app.inject({ method: 'GET', url: '/book', query: { status: 'finished', rating: '5' } })
  t.equal(finished.headers['x-query-plan'], 'scan')
  t.same(json(finished).items.map((b: Instance) => b.title).sort(), ['Kindred', 'The Dispossessed'], 'a Scan filters Rococo\'s N and S attributes')

  // History of Rococo's versions: list, one version, as_of, diff.
  t.same(await versions(ctx, 'book', id), [k3, k2, k1], 'the versions Rococo wrote and audited, newest first')
  t.same(json(await app.inject({ method: 'GET', url: `/book/${id}/versions/${String(k1.version)}` })), k1)
  const asOf = async (when: string): Promise<number | unknown> => {
    const res = await app.inject({ method: 'GET', url: `/book/${id}`, query: { as_of: when } })
    return res.statusCode === 200 ? json(res).version : res.statusCode
  }
  t.equal(await asOf('2025-02-03T04:05:06.123455Z'), 404, 'as_of 1 µs before Rococo\'s first version: not there yet')
  t.equal(await asOf('2025-02-03T04:05:06.123456Z'), k1.version, 'as_of at the first version\'s microsecond')
  t.equal(await asOf('2025-02-28T00:00:00Z'), k2.version)
  t.equal(await asOf('2025-03-01T12:00:00.000001Z'), k3.version)
  const diff = await app.inject({ method: 'GET', url: `/book/${id}/versions/${String(k1.version)}/diff`, query: { to: String(k3.version) } })
  t.equal(diff.statusCode, 200)
  const patched = fieldsOf(k1)
  applyPatch(patched, json(diff) as Operation[])
  t.same(patched, fieldsOf(k3), 'the diff between two Rococo versions turns one into the other')

  // verso writes on top: PUT, PATCH, DELETE with If-Match of Rococo's uuid4 versions.
  const stale = await app.inject({ method: 'PUT', url: `/book/${id}`, headers: { 'if-match': etag(k2.version) }, payload: { title: 'Kindred', author: BUTLER } })
  t.equal(stale.statusCode, 412, 'If-Match of a replaced Rococo version is stale')
  t.equal(json(stale).current_version, k3.version)
  const storedByRococo = await raw(ctx, rococo.table, id)
  const put = await app.inject({ method: 'PUT', url: `/book/${id}`, headers: { 'if-match': etag(k3.version) }, payload: { title: 'Kindred', author: BUTLER, status: 'finished', rating: 4 } })
  t.equal(put.statusCode, 200)
  t.match(json(put), { previous_version: k3.version, version: V7, rating: 4 })
  t.same((await auditRows(ctx, Book, id)).find((r) => r.version?.S === k3.version), storedByRococo, 'verso audits Rococo\'s item attribute for attribute')
  const patch = await app.inject({ method: 'PATCH', url: `/book/${id}`, headers: { 'if-match': put.headers.etag as string, 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ rating: 5 }) })
  t.equal(patch.statusCode, 200)
  const del = await app.inject({ method: 'DELETE', url: `/book/${id}`, headers: { 'if-match': patch.headers.etag as string } })
  t.equal(del.statusCode, 200)
  t.equal(await rococo.getOne(id), undefined, 'Rococo\'s get_one (active == True) no longer finds what verso deleted')

  // Restore a Rococo version; Rococo loads the result and saves on top of verso's version.
  const restore = await app.inject({ method: 'POST', url: `/book/${id}/versions/${String(k1.version)}/restore`, headers: { 'if-match': del.headers.etag as string } })
  t.equal(restore.statusCode, 200)
  const restored = json(restore)
  t.same(fieldsOf(restored), fieldsOf(k1), 'a restored Rococo version has exactly its fields')
  const loaded = await rococo.getOne(id)
  t.ok(loaded, 'Rococo finds the restored entity')
  t.same(loaded?.warnings, [])
  t.same(loaded?.instance, restored, 'and loads it as verso answered it')
  const again = loaded!.instance
  again.status = 'reading'
  await rococo.save(again)
  t.equal(again.previous_version, restored.version, 'Rococo\'s lock accepted verso\'s UUIDv7 version as the one it replaces')
  const current = json(await app.inject({ method: 'GET', url: `/book/${id}` }))
  t.same(current, asEntity(again), 'verso reads the version Rococo wrote on top of its own')
  const history = await versions(ctx, 'book', id)
  t.same(history.map((v) => v.version), [again.version, restored.version, json(del).version, json(patch).version, json(put).version, k3.version, k2.version, k1.version], 'one chain, newest first, across both writers')
  for (let i = 0; i < history.length - 1; i++) t.equal(history[i]!.previous_version, history[i + 1]!.version, `version ${history.length - i} links to its predecessor`)
  t.same(history[1], restored, 'Rococo\'s audit copy of verso\'s version reads back as verso wrote it')

  const verStale = await app.inject({ method: 'PATCH', url: `/book/${id}`, headers: { 'if-match': etag(restored.version), 'content-type': 'application/merge-patch+json' }, payload: '{"rating":2}' })
  t.equal(verStale.statusCode, 412, 'verso refuses a write based on the version Rococo replaced')
  t.same(json(await app.inject({ method: 'GET', url: `/book/${id}/integrity` })), { linear: true, current_version: history[0]!.version, versions: history.length, forks: [], gaps: [] }, 'taking turns, the two writers keep one chain')

  // A Rococo save based on a replaced version: the documented adapter locks on the same attribute as verso and
  // writes nothing; the published main branch does not lock, and forks the chain (./rococo-races.test.ts races it).
  const old = { ...structuredClone(k3), rating: 1 }
  if (savePath === 'documented') {
    await t.rejects(rococo.save(old), { name: 'DynamoDbOptimisticLockError', message: /^Version conflict/ }, 'DynamoDbOptimisticLockError')
    t.same(json(await app.inject({ method: 'GET', url: `/book/${id}` })), current, 'nothing written')
  } else {
    await rococo.save(old)
    t.equal(json(await app.inject({ method: 'GET', url: `/book/${id}` })).rating, 1, 'the stale save replaced the current version')
    const report = json(await app.inject({ method: 'GET', url: `/book/${id}/integrity` }))
    t.same(report.forks.map((f: any) => [f.parent.version, f.children.map((c: any) => c.version)]), [[k3.version, [json(put).version, (old as Instance).version]]], 'K3 forks: verso\'s PUT and the stale save')
  }
}

t.test('people saved by Rococo: dict fields as Python JSON text, None left out, a UUID user id with dashes', async (t) => {
  const ctx = await setup(t, { models: interopModels })
  const { app } = ctx
  const userUuid = getUuidHex()
  const rococo = new RococoRepository(ctx.client, RococoPerson, { prefix: ctx.prefix, userId: userUuid, userIdIsUuidObject: true })
  const metadata = { city: 'Zürich', motto: 'Amazing “Grace” 🙂', ranks: ['ensign', 'rear admiral'], retired: true, spouse: null, nested: { years: 43.5 } }
  const grace = rococo.newInstance({ first_name: 'Grace', last_name: 'Hopper', metadata })
  await rococo.save(grace)
  const id = String(grace.entity_id)
  const stored = await raw(ctx, rococo.table, id)
  const text = pyJsonDumps(metadata)
  t.equal(stored?.metadata?.S, text, 'metadata is JSON text in S, as json.dumps writes it')
  t.match(text, '"Z\\u00fcrich"', 'with non-ASCII escaped (ensure_ascii) and ", " / ": " separators')
  t.match(text, '\\ud83d\\ude42')
  t.notOk('age' in (stored ?? {}), 'age None is left out')
  t.match(stored?.changed_by_id?.S, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a uuid.UUID user id is written as str(UUID), with dashes')

  const got = await app.inject({ method: 'GET', url: `/person/${id}` })
  t.equal(got.statusCode, 200)
  t.same(json(got), { ...asEntity(grace), metadata }, 'verso parses Rococo\'s JSON text and returns changed_by_id as stored')
  t.same(json(await app.inject({ method: 'GET', url: '/person', query: { last_name: 'Hopper' } })).items, [json(got)], 'listed by the last_name index')
  t.same(json(await app.inject({ method: 'GET', url: '/person', query: { first_name: 'Grace' } })).items, [json(got)], 'and by scan')

  // A patch that does not touch metadata keeps Rococo's text byte for byte; one that does writes JSON text Rococo reads.
  const p1 = await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(grace.version), 'content-type': 'application/merge-patch+json' }, payload: '{"age":85}' })
  t.equal(p1.statusCode, 200)
  t.equal((await raw(ctx, rococo.table, id))?.metadata?.S, text, 'Rococo\'s JSON text carried over untouched')
  const p2 = await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': p1.headers.etag as string, 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ metadata: { city: 'Arlington', spouse: null } }) })
  t.equal(p2.statusCode, 200)
  const expected = { ...metadata, city: 'Arlington' } as Record<string, unknown>
  delete expected.spouse
  const after = await raw(ctx, rococo.table, id)
  t.same(loadRococo(RococoPerson, after!).instance.metadata, expected, 'Rococo\'s json.loads reads verso\'s text')
  t.same(json(p2).metadata, expected)
  const history = await versions(ctx, 'person', id)
  t.same(history.map((v) => v.version), [json(p2).version, json(p1).version, grace.version])
  t.equal(history[2]!.changed_by_id, grace.changed_by_id)
})

t.test('articles saved by Rococo: lists as L (None → NULL, dict → M), float, bool, and a dict field that may be None', async (t) => {
  const ctx = await setup(t, { models: interopModels })
  const { app } = ctx
  const rococo = new RococoRepository(ctx.client, RococoArticle, { prefix: ctx.prefix, clock: clockOf([at('2025-06-01T00:00:00Z') + 7]) })
  const tags = ['interop', 3, 2.5, true, null, { k: 'v', n: null, deep: [1] }, ['nested']]
  const article = rococo.newInstance({ title: 'Shared tables', tags, score: 4.5, published: false, meta: {}, notes: { reviewed: 1 } })
  await rococo.save(article)
  const id = String(article.entity_id)
  const stored = await raw(ctx, rococo.table, id)
  t.same(stored, {
    entity_id: { S: id },
    version: { S: article.version },
    previous_version: { S: ZERO },
    active: { BOOL: true },
    changed_by_id: { S: ZERO },
    changed_on: { S: pyIsoformat(at('2025-06-01T00:00:00Z') + 7) },
    title: { S: 'Shared tables' },
    tags: { L: [{ S: 'interop' }, { N: '3' }, { N: '2.5' }, { BOOL: true }, { NULL: true }, { M: { k: { S: 'v' }, n: { NULL: true }, deep: { L: [{ N: '1' }] } } }, { L: [{ S: 'nested' }] }] },
    score: { N: '4.5' },
    published: { BOOL: false },
    meta: { S: '{}' },
    notes: { S: '{"reviewed": 1}' }
  }, 'PynamoDB\'s untyped ListAttribute, NumberAttribute, BooleanAttribute and JSONAttribute; no user id: the zero id')

  const got = await app.inject({ method: 'GET', url: `/article/${id}` })
  t.equal(got.statusCode, 200)
  t.same(json(got), asEntity(article), 'verso reads every attribute type Rococo writes (notes as an object, not as its text)')

  const put = await app.inject({ method: 'PUT', url: `/article/${id}`, headers: { 'if-match': etag(article.version) }, payload: { title: 'Shared tables', tags: [null, { a: [true] }], score: 5, published: true, notes: { reviewed: 2 } } })
  t.equal(put.statusCode, 200, put.body)
  const mine = await raw(ctx, rococo.table, id)
  t.same(mine?.tags, { L: [{ NULL: true }, { M: { a: { L: [{ BOOL: true }] } } }] })
  t.same(mine?.notes, { S: '{"reviewed":2}' }, 'a dict field that may also be null is JSON text, as Rococo\'s JSONAttribute reads it')
  const loaded = loadRococo(RococoArticle, mine!)
  t.same(loaded.warnings, [])
  t.same(loaded.instance, json(put), 'Rococo loads verso\'s version as verso answered it')

  const cleared = await app.inject({ method: 'PUT', url: `/article/${id}`, headers: { 'if-match': put.headers.etag as string }, payload: { title: 'Shared tables', meta: { a: 1 }, notes: null } })
  t.equal(cleared.statusCode, 200)
  const clearedRaw = await raw(ctx, rococo.table, id)
  t.notOk('notes' in clearedRaw!, 'notes: null is left out of the item, as PynamoDB leaves out None')
  const clearedState = json(await app.inject({ method: 'GET', url: `/article/${id}` }))
  t.notOk('notes' in clearedState, 'and a read has no notes')
  t.same(clearedRaw?.meta, { S: '{"a":1}' })

  // Rococo, reading verso's version, writes on top: its audit copy is what it read, serialized again by PynamoDB.
  const reread = (await rococo.getOne(id))!.instance
  reread.tags = ['again']
  await rococo.save(reread)
  const audited = (await auditRows(ctx, Article, id)).find((r) => r.version?.S === json(cleared).version)
  t.same(audited, { ...clearedRaw, meta: { S: '{"a": 1}' } }, 'Rococo audited verso\'s version, its JSON text re-dumped by json.dumps')
  t.same(json(await app.inject({ method: 'GET', url: `/article/${id}/versions/${json(cleared).version as string}` })), clearedState, 'verso reads Rococo\'s audit copy of its version as it answered it')
  t.same(json(await app.inject({ method: 'GET', url: `/article/${id}` })).tags, ['again'])
  t.same((await versions(ctx, 'article', id)).map((v) => v.version), [reread.version, json(cleared).version, json(put).version, article.version])
})

t.test('the two declarations of each model agree; objects that may be null are JSON text', async (t) => {
  // Guards the declarations in ./models.ts: the verso and Rococo sides must describe the same fields.
  for (const [model, rococoModel] of [[Person, RococoPerson], [Book, RococoBook], [Article, RococoArticle]] as const) {
    t.same(Object.keys(model.schema.properties).sort(), Object.keys(rococoModel.fields).sort(), `${model.name}: same fields`)
    t.equal(model.tableName, rococoModel.name.toLowerCase())
    t.same([...model.jsonFields].sort(), Object.entries(rococoModel.fields).filter(([, type]) => type === 'dict').map(([name]) => name).sort(), `${model.name}: verso's JSON-text fields are Rococo's dict fields`)
  }
  // Regression: an object that may be null was stored as a DynamoDB map, which Rococo's JSONAttribute refuses.
  const Nullable = defineModel({
    name: 'Nullable',
    schema: Type.Object({
      a: Type.Unsafe<Record<string, unknown> | null>({ type: ['object', 'null'] }),
      b: Type.Union([Type.Object({ x: Type.Number() }), Type.Null()]),
      c: Type.Union([Type.Object({}), Type.String()]),
      d: Type.Union([Type.String(), Type.Null()])
    }),
    example: { a: null, b: null, c: '', d: null }
  })
  t.same([...Nullable.jsonFields].sort(), ['a', 'b'], 'objects that may be null are JSON text; a union with text is not an object, nor is nullable text')
})
