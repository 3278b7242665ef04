import t from 'tap'
import { DescribeTableCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb'
import { Type } from 'typebox'
import { defineModel } from '../../src/models/define.js'
import { Person } from '../../src/models/person.js'
import { setup, json, etag } from '../support/helper.js'
import { assertProblem, newId, ID } from './support.js'

const Setting = defineModel({
  name: 'Setting',
  versioned: false,
  schema: Type.Object({
    key: Type.String({ minLength: 1 }),
    value: Type.String(),
    note: Type.Optional(Type.String()),
    options: Type.Optional(Type.Object({}, { additionalProperties: true }))
  }, { additionalProperties: false }),
  example: { key: 'theme', value: 'dark' }
})

const models = [Person, Setting]

t.test('POST creates: entity_id only, no ETag, no server fields', async (t) => {
  const ctx = await setup(t, { models })
  const res = await ctx.app.inject({ method: 'POST', url: '/setting', payload: { key: 'theme', value: 'dark' } })
  t.equal(res.statusCode, 201)
  const body = json(res)
  t.match(body.entity_id, ID)
  t.same(body, { entity_id: body.entity_id, key: 'theme', value: 'dark' }, 'no version, active, changed_on …')
  t.equal(res.headers.location, `/setting/${String(body.entity_id)}`)
  t.notOk(res.headers.etag, 'no ETag on a non-versioned model')
  t.same(await ctx.scan(ctx.tables(Setting).main), [body], 'stored as sent')

  const got = await ctx.app.inject({ method: 'GET', url: `/setting/${String(body.entity_id)}` })
  t.equal(got.statusCode, 200)
  t.same(json(got), body)
  t.notOk(got.headers.etag)

  const id = newId()
  const supplied = await ctx.app.inject({ method: 'POST', url: '/setting', payload: { entity_id: id, key: 'a', value: 'b' } })
  t.equal(supplied.statusCode, 201)
  t.equal(json(supplied).entity_id, id)
  const twice = await ctx.app.inject({ method: 'POST', url: '/setting', payload: { entity_id: id, key: 'c', value: 'd' } })
  assertProblem(t, twice, 409, { code: 'VERSO_ALREADY_EXISTS' })
})

t.test('server-managed fields of versioned models are refused on a non-versioned one', async (t) => {
  const { app } = await setup(t, { models })
  for (const field of ['version', 'previous_version', 'active', 'changed_by_id', 'changed_on']) {
    const value = field === 'active' ? true : newId()
    const res = await app.inject({ method: 'POST', url: '/setting', payload: { key: 'a', value: 'b', [field]: value } })
    assertProblem(t, res, 400, { paths: [`/body/${field}`] })
    const put = await app.inject({ method: 'PUT', url: `/setting/${newId()}`, payload: { key: 'a', value: 'b', [field]: value } })
    assertProblem(t, put, 400, { paths: [`/body/${field}`] })
  }
  const entityId = await app.inject({ method: 'PUT', url: `/setting/${newId()}`, payload: { key: 'a', value: 'b', entity_id: newId() } })
  assertProblem(t, entityId, 400, { paths: ['/body/entity_id'] })
})

t.test('PUT upserts: 201 first, 200 after, no If-Match needed, no ETag', async (t) => {
  const ctx = await setup(t, { models })
  const id = newId()
  const url = `/setting/${id}`
  const first = await ctx.app.inject({ method: 'PUT', url, payload: { key: 'theme', value: 'dark', note: 'n' } })
  t.equal(first.statusCode, 201, 'created')
  t.same(json(first), { entity_id: id, key: 'theme', value: 'dark', note: 'n' })
  t.notOk(first.headers.etag)

  const second = await ctx.app.inject({ method: 'PUT', url, payload: { key: 'theme', value: 'light' } })
  t.equal(second.statusCode, 200, 'replaced')
  t.same(json(second), { entity_id: id, key: 'theme', value: 'light' }, 'full replacement: note is gone')
  t.notOk(second.headers.etag)

  const rows = await ctx.scan(ctx.tables(Setting).main)
  t.same(rows, [{ entity_id: id, key: 'theme', value: 'light' }], 'one item, overwritten')
  t.same(json(await ctx.app.inject({ method: 'GET', url })), json(second))

  const withIfMatch = await ctx.app.inject({ method: 'PUT', url, headers: { 'if-match': etag(newId()) }, payload: { key: 'theme', value: 'blue' } })
  t.equal(withIfMatch.statusCode, 200, 'If-Match is not a lock on a non-versioned model')

  const bad = await ctx.app.inject({ method: 'PUT', url, payload: { key: 'theme' } })
  assertProblem(t, bad, 400, { paths: ['/body/value'] })
  const unknown = await ctx.app.inject({ method: 'PUT', url, payload: { key: 'theme', value: 'x', extra: 1 } })
  assertProblem(t, unknown, 400, { paths: ['/body/extra'] })
  assertProblem(t, await ctx.app.inject({ method: 'PUT', url: '/setting/NOT-AN-ID', payload: { key: 'a', value: 'b' } }), 400, { paths: ['/params/id'] })
})

t.test('PATCH merges without a precondition', async (t) => {
  const ctx = await setup(t, { models })
  const created = json(await ctx.app.inject({ method: 'POST', url: '/setting', payload: { key: 'theme', value: 'dark', note: 'n', options: { a: 1, b: { c: 2 } } } }))
  const url = `/setting/${String(created.entity_id)}`
  const res = await ctx.app.inject({
    method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ value: 'light', note: null, options: { a: null, b: { d: 3 } } })
  })
  t.equal(res.statusCode, 200)
  t.same(json(res), { entity_id: created.entity_id, key: 'theme', value: 'light', options: { b: { c: 2, d: 3 } } })
  t.notOk(res.headers.etag)
  t.same(await ctx.scan(ctx.tables(Setting).main), [{ entity_id: created.entity_id, key: 'theme', value: 'light', options: JSON.stringify({ b: { c: 2, d: 3 } }) }])

  const viaJson = await ctx.app.inject({ method: 'PATCH', url, payload: { note: 'again' } })
  t.equal(viaJson.statusCode, 200)
  t.equal(json(viaJson).note, 'again')

  const missing = await ctx.app.inject({ method: 'PATCH', url, payload: { key: null } })
  assertProblem(t, missing, 400, { code: 'VERSO_VALIDATION_FAILED', paths: ['/body/key'] })
  assertProblem(t, await ctx.app.inject({ method: 'PATCH', url, payload: { version: newId() } }), 400, { paths: ['/body/version'] })
  assertProblem(t, await ctx.app.inject({ method: 'PATCH', url, headers: { 'content-type': 'text/plain' }, payload: 'x' }), 415)
  assertProblem(t, await ctx.app.inject({ method: 'PATCH', url: `/setting/${newId()}`, payload: { value: 'x' } }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
})

t.test('DELETE removes the item for good and answers with the final state', async (t) => {
  const ctx = await setup(t, { models })
  const created = json(await ctx.app.inject({ method: 'POST', url: '/setting', payload: { key: 'theme', value: 'dark' } }))
  const other = json(await ctx.app.inject({ method: 'POST', url: '/setting', payload: { key: 'lang', value: 'en' } }))
  const url = `/setting/${String(created.entity_id)}`
  const res = await ctx.app.inject({ method: 'DELETE', url })
  t.equal(res.statusCode, 200, 'no precondition needed')
  t.same(json(res), created, 'the final state')
  t.notOk(res.headers.etag)

  t.same(await ctx.scan(ctx.tables(Setting).main), [other], 'the item is gone from the table')
  assertProblem(t, await ctx.app.inject({ method: 'GET', url }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  assertProblem(t, await ctx.app.inject({ method: 'GET', url: `${url}?include_deleted=true` }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  assertProblem(t, await ctx.app.inject({ method: 'DELETE', url }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })

  const events = await ctx.events(String(created.entity_id))
  t.same(events.map((e) => e.type), ['verso.setting.created', 'verso.setting.deleted'])
  t.same(events[1]?.data, created)
})

t.test('no audit table is created or used', async (t) => {
  const ctx = await setup(t, { models })
  const id = newId()
  await ctx.app.inject({ method: 'PUT', url: `/setting/${id}`, payload: { key: 'a', value: '1' } })
  await ctx.app.inject({ method: 'PUT', url: `/setting/${id}`, payload: { key: 'a', value: '2' } })
  await ctx.app.inject({ method: 'PATCH', url: `/setting/${id}`, payload: { value: '3' } })
  await ctx.app.inject({ method: 'DELETE', url: `/setting/${id}` })
  await t.rejects(ctx.client.send(new DescribeTableCommand({ TableName: ctx.tables(Setting).audit })), ResourceNotFoundException, 'no setting_audit table')
  t.same((await ctx.events(id)).map((e) => e.type), ['verso.setting.created', 'verso.setting.updated', 'verso.setting.updated', 'verso.setting.deleted'])
})

t.test('list', async (t) => {
  const { app } = await setup(t, { models })
  for (let i = 0; i < 5; i++) await app.inject({ method: 'POST', url: '/setting', payload: { key: `k${i}`, value: i % 2 === 0 ? 'even' : 'odd' } })
  const all = json(await app.inject({ method: 'GET', url: '/setting' }))
  t.equal(all.items.length, 5)
  t.equal(all.next_cursor, null)
  const even = json(await app.inject({ method: 'GET', url: '/setting?value=even' }))
  t.equal(even.items.length, 3)
  t.ok(even.items.every((i: Record<string, unknown>) => Object.keys(i).sort().join() === 'entity_id,key,value'))
})
