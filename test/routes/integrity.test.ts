import t from 'tap'
import { randomUUID } from 'node:crypto'
import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { Type } from 'typebox'
import { defineModel } from '../../src/models/define.js'
import { formatTimestamp, parseTimestampMicros } from '../../src/models/entity.js'
import { Person } from '../../src/models/person.js'
import { setup, json, etag, type TestContext } from '../support/helper.js'
import { assertProblem, createPerson, newId } from './support.js'

// GET /{model}/{id}/integrity, and the Verso-Chain header on history and as_of answers. The forks here are made
// by hand, item by item, as a writer without the lock leaves them (test/interop/ drives Rococo's save path itself).

const Setting = defineModel({
  name: 'Setting',
  versioned: false,
  schema: Type.Object({ key: Type.String(), value: Type.String() }, { additionalProperties: false }),
  example: { key: 'theme', value: 'dark' }
})
const OTHER_WRITER = '5f0c1e2d3b4a49788a6b5c4d3e2f1a0b'

async function patch (ctx: TestContext, id: string, version: string, fields: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await ctx.app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(version), 'content-type': 'application/merge-patch+json' }, payload: fields })
  if (res.statusCode !== 200) throw new Error(`patch: ${res.statusCode} ${res.body}`)
  return json(res)
}

/**
 * What a writer without the lock does with a stale copy of version `base`: it copies whatever is current into
 * the audit table and puts its own version, naming `base`, over it (both plain PutItems).
 */
async function unlockedSave (ctx: TestContext, id: string, base: string, fields: Record<string, string>): Promise<Record<string, string>> {
  const { main, audit } = ctx.tables(Person)
  const { Item: current } = await ctx.client.send(new GetItemCommand({ TableName: main, Key: { entity_id: { S: id } } }))
  await ctx.client.send(new PutItemCommand({ TableName: audit, Item: current! }))
  const changedOn = formatTimestamp((parseTimestampMicros(current!.changed_on!.S!)! + 1000))
  const version = randomUUID().replaceAll('-', '')
  const item = { entity_id: id, version, previous_version: base, active: true, changed_by_id: OTHER_WRITER, changed_on: changedOn, ...fields }
  await ctx.client.send(new PutItemCommand({ TableName: main, Item: Object.fromEntries(Object.entries(item).map(([k, value]) => [k, k === 'active' ? { BOOL: true } : { S: String(value) }])) }))
  return { version, changed_on: changedOn, changed_by_id: OTHER_WRITER }
}

async function integrity (ctx: TestContext, id: string): Promise<Record<string, any>> {
  const res = await ctx.app.inject({ method: 'GET', url: `/person/${id}/integrity` })
  if (res.statusCode !== 200) throw new Error(`integrity: ${res.statusCode} ${res.body}`)
  return json(res)
}
const refOf = (e: Record<string, any>): Record<string, string> => ({ version: e.version, changed_on: e.changed_on, changed_by_id: e.changed_by_id })

t.test('a history verso wrote is linear, and its answers carry no Verso-Chain', async (t) => {
  const ctx = await setup(t, { models: [Person, Setting] })
  const a = await createPerson(ctx.app)
  const b = await patch(ctx, a.entity_id, a.version, { age: 36 })
  const c = await patch(ctx, a.entity_id, b.version, { age: 37 })
  t.same(await integrity(ctx, a.entity_id), { linear: true, current_version: c.version, versions: 3, forks: [], gaps: [] })
  const versions = await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}/versions` })
  t.same(json(versions).items.map((e: any) => e.version), [c.version, b.version, a.version])
  t.equal(versions.headers['verso-chain'], undefined)
  const asOf = await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}`, query: { as_of: String(b.changed_on) } })
  t.equal(json(asOf).version, b.version)
  t.equal(asOf.headers['verso-chain'], undefined)

  // Soft-deleted entities keep their history: still checked.
  await ctx.app.inject({ method: 'DELETE', url: `/person/${a.entity_id}`, headers: { 'if-match': etag(c.version) } })
  t.same((await integrity(ctx, a.entity_id)).versions, 4)
})

t.test('a fork: found by /integrity, flagged on /versions and on as_of answers read whole', async (t) => {
  const ctx = await setup(t, { models: [Person, Setting] })
  const a = await createPerson(ctx.app)
  const b = await patch(ctx, a.entity_id, a.version, { age: 36 })
  // Another writer still holding A saves C on top of it: B is now only in the audit table, C names A.
  const c = await unlockedSave(ctx, a.entity_id, a.version, { first_name: 'Augusta', last_name: 'King' })

  t.same(await integrity(ctx, a.entity_id), {
    linear: false,
    current_version: c.version,
    versions: 3,
    forks: [{ parent: refOf(a), children: [refOf(b), c] }],
    gaps: []
  }, 'A has two children, the lost update B and C')

  const versions = await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}/versions` })
  t.equal(versions.statusCode, 200)
  t.equal(versions.headers['verso-chain'], 'forked', 'the page says it is not a chain')
  t.same(json(versions).items.map((e: any) => e.version), [c.version, b.version, a.version], 'the versions in changed_on order')
  const page2 = await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}/versions`, query: { limit: '1' } })
  const next = await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}/versions`, query: { limit: '1', cursor: json(page2).next_cursor } })
  t.equal(next.headers['verso-chain'], 'forked', 'so does every later page')

  const atB = await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}`, query: { as_of: String(b.changed_on) } })
  t.equal(json(atB).version, b.version, 'B was the stored version at its time')
  t.equal(atB.headers['verso-chain'], 'forked', 'but the answer says it is on a branch of a fork')
  const now = await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}`, query: { as_of: new Date().toISOString() } })
  t.equal(json(now).version, c.version)
  t.equal(now.headers['verso-chain'], undefined, 'the current version answers as_of from the main item alone: nothing read says more')
})

t.test('a gap: a predecessor stored nowhere', async (t) => {
  const ctx = await setup(t, { models: [Person, Setting] })
  const a = await createPerson(ctx.app)
  const b = await patch(ctx, a.entity_id, a.version, { age: 36 })
  const c = await patch(ctx, a.entity_id, b.version, { age: 37 })
  await ctx.client.send(new DeleteItemCommand({ TableName: ctx.tables(Person).audit, Key: { entity_id: { S: a.entity_id }, version: { S: b.version } } }))
  t.same(await integrity(ctx, a.entity_id), { linear: false, current_version: c.version, versions: 2, forks: [], gaps: [{ version: b.version, named_by: [refOf(c)] }] })
  const versions = await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}/versions` })
  t.equal(versions.headers['verso-chain'], 'gapped')
  t.same(json(versions).items.map((e: any) => e.version), [c.version, a.version])
})

t.test('unknown entity 404, malformed id 400, a model without history 405 with an empty Allow', async (t) => {
  const ctx = await setup(t, { models: [Person, Setting] })
  assertProblem(t, await ctx.app.inject({ method: 'GET', url: `/person/${newId()}/integrity` }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  assertProblem(t, await ctx.app.inject({ method: 'GET', url: '/person/not-an-id/integrity' }), 400)
  const setting = json(await ctx.app.inject({ method: 'POST', url: '/setting', payload: { key: 'theme', value: 'dark' } }))
  const res = await ctx.app.inject({ method: 'GET', url: `/setting/${String(setting.entity_id)}/integrity` })
  assertProblem(t, res, 405)
  t.equal(res.headers.allow, '')
})

t.test('verso\'s own concurrent writes never fork: the lock lets one write per version through', async (t) => {
  const ctx = await setup(t, { models: [Person, Setting] })
  const a = await createPerson(ctx.app)
  // Ten writers on the same If-Match: exactly one is applied.
  const burst = await Promise.all(Array.from({ length: 10 }, async (_, i) => await ctx.app.inject({
    method: 'PATCH', url: `/person/${a.entity_id}`, headers: { 'if-match': etag(a.version), 'content-type': 'application/merge-patch+json' }, payload: { age: i }
  })))
  t.same(burst.map((r) => r.statusCode).sort(), [200, ...Array(9).fill(412)], 'one 200, nine 412')

  // Five writers, each applying four updates, re-reading the current version after every 412.
  const writers = await Promise.all(Array.from({ length: 5 }, async (_, w) => {
    let refused = 0
    for (let applied = 0; applied < 4;) {
      const current = json(await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}` }))
      const res = await ctx.app.inject({ method: 'PATCH', url: `/person/${a.entity_id}`, headers: { 'if-match': etag(current.version), 'content-type': 'application/merge-patch+json' }, payload: { last_name: `W${w}-${applied}` } })
      if (res.statusCode === 200) applied++
      else if (res.statusCode === 412) refused++
      else throw new Error(`writer ${w}: ${res.statusCode} ${res.body}`)
    }
    return refused
  }))
  t.comment(`412s while five writers applied 20 updates: ${writers.reduce((n, r) => n + r, 0)}`)
  const versions = await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}/versions`, query: { limit: '100' } })
  t.equal(versions.headers['verso-chain'], undefined)
  const items = json(versions).items as Array<Record<string, any>>
  t.same(await integrity(ctx, a.entity_id), { linear: true, current_version: items[0]!.version, versions: 22, forks: [], gaps: [] }, 'creation + 1 + 20 versions, one chain')
  t.equal(items.length, 22)
  for (let i = 0; i < items.length - 1; i++) t.equal(items[i]!.previous_version, items[i + 1]!.version, `version ${items.length - i} names the one before it`)
})

t.test('browsers may read Verso-Chain (CORS exposes it)', async (t) => {
  const ctx = await setup(t, { models: [Person, Setting], config: { CORS_ORIGINS: 'https://admin.example' } })
  const a = await createPerson(ctx.app)
  const res = await ctx.app.inject({ method: 'GET', url: `/person/${a.entity_id}/versions`, headers: { origin: 'https://admin.example' } })
  t.ok(String(res.headers['access-control-expose-headers']).toLowerCase().split(/\s*,\s*/).includes('verso-chain'))
})
