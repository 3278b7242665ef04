import t from 'tap'
import { Type } from 'typebox'
import { defineModel } from '../../src/models/define.js'
import { setup, json, etag } from '../support/helper.js'
import { assertProblem, assertServerFields, newId, SERVER_FIELDS } from './support.js'

const Gadget = defineModel({
  name: 'Gadget',
  allowExtra: true,
  schema: Type.Object({
    name: Type.String({ minLength: 1 }),
    size: Type.Optional(Type.Integer())
  }, { additionalProperties: true }),
  example: { name: 'sprocket' }
})

const Note = defineModel({
  name: 'Note',
  versioned: false,
  allowExtra: true,
  schema: Type.Object({ text: Type.String() }, { additionalProperties: true }),
  example: { text: 'hi' }
})

const models = [Gadget, Note]

t.test('extra fields are stored flat and returned', async (t) => {
  const ctx = await setup(t, { models })
  const payload = { name: 'sprocket', size: 3, colour: 'red', weight: 1.5, in_stock: true, dims: { w: 1, h: 2 }, tags: ['a', 'b'] }
  const res = await ctx.app.inject({ method: 'POST', url: '/gadget', payload })
  t.equal(res.statusCode, 201)
  const body = json(res)
  assertServerFields(t, body)
  t.same(Object.keys(body).sort(), [...SERVER_FIELDS, ...Object.keys(payload)].sort())
  for (const [k, v] of Object.entries(payload)) t.same(body[k], v, `${k} returned`)
  t.equal(res.headers.etag, etag(body.version))

  const stored = (await ctx.scanRaw(ctx.tables(Gadget).main))[0]
  t.same(stored?.colour, { S: 'red' }, 'extra string stored flat as S')
  t.same(stored?.weight, { N: '1.5' })
  t.same(stored?.in_stock, { BOOL: true })
  t.ok(stored?.tags?.L, 'extra array stored as L')

  const got = json(await ctx.app.inject({ method: 'GET', url: `/gadget/${String(body.entity_id)}` }))
  t.same(got, body, 'read back with the extras')
  const listed = json(await ctx.app.inject({ method: 'GET', url: '/gadget' }))
  t.same(listed.items, [body], 'the list shows the extras too')
})

t.test('declared fields are still validated', async (t) => {
  const { app } = await setup(t, { models })
  assertProblem(t, await app.inject({ method: 'POST', url: '/gadget', payload: { colour: 'red' } }), 400, { paths: ['/body/name'] })
  assertProblem(t, await app.inject({ method: 'POST', url: '/gadget', payload: { name: 'x', size: '3' } }), 400, { paths: ['/body/size'] })
})

t.test('server-managed names are still rejected', async (t) => {
  const { app } = await setup(t, { models })
  for (const field of ['version', 'previous_version', 'active', 'changed_by_id', 'changed_on']) {
    const res = await app.inject({ method: 'POST', url: '/gadget', payload: { name: 'x', [field]: field === 'active' ? true : newId() } })
    assertProblem(t, res, 400, { code: 'VERSO_SERVER_MANAGED_FIELD', paths: [`/body/${field}`] })
  }
  const created = json(await app.inject({ method: 'POST', url: '/gadget', payload: { name: 'x' } }))
  const url = `/gadget/${String(created.entity_id)}`
  const headers = { 'if-match': etag(created.version) }
  for (const field of ['entity_id', 'previous_version', 'active', 'changed_by_id', 'changed_on']) {
    const value = field === 'active' ? false : newId()
    assertProblem(t, await app.inject({ method: 'PUT', url, headers, payload: { name: 'y', [field]: value } }), 400, { code: 'VERSO_SERVER_MANAGED_FIELD', paths: [`/body/${field}`] })
    assertProblem(t, await app.inject({ method: 'PATCH', url, headers, payload: { [field]: value } }), 400, { code: 'VERSO_SERVER_MANAGED_FIELD', paths: [`/body/${field}`] })
  }
  for (const field of ['version', 'previous_version', 'active', 'changed_by_id', 'changed_on']) {
    const res = await app.inject({ method: 'POST', url: '/note', payload: { text: 'x', [field]: field === 'active' ? true : newId() } })
    assertProblem(t, res, 400, { code: 'VERSO_SERVER_MANAGED_FIELD', paths: [`/body/${field}`] })
  }
  const got = json(await app.inject({ method: 'GET', url }))
  t.equal(got.version, created.version, 'nothing was written')
})

t.test('PUT replaces extras; PATCH merges and removes them', async (t) => {
  const { app } = await setup(t, { models })
  const created = json(await app.inject({ method: 'POST', url: '/gadget', payload: { name: 'x', colour: 'red', dims: { w: 1, h: 2 } } }))
  const url = `/gadget/${String(created.entity_id)}`
  const put = await app.inject({ method: 'PUT', url, headers: { 'if-match': etag(created.version) }, payload: { name: 'y', shape: 'round' } })
  t.equal(put.statusCode, 200)
  const v2 = json(put)
  t.equal(v2.shape, 'round')
  t.notOk('colour' in v2, 'extras not sent are gone')
  t.notOk('dims' in v2)

  const patch = await app.inject({
    method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json', 'if-match': etag(v2.version) }, payload: JSON.stringify({ shape: null, dims: { w: 5 }, colour: 'blue' })
  })
  t.equal(patch.statusCode, 200)
  const v3 = json(patch)
  t.notOk('shape' in v3, 'null removes an extra')
  t.same(v3.dims, { w: 5 })
  t.equal(v3.colour, 'blue')
  t.equal(v3.name, 'y')
  t.equal(v3.previous_version, v2.version)

  const withBodyVersion = await app.inject({ method: 'PATCH', url, payload: { version: v3.version, colour: 'green' } })
  t.equal(withBodyVersion.statusCode, 200, 'version in the body is the precondition, not an extra field')
  t.notOk(json(withBodyVersion).version === v3.version)
  t.equal(json(withBodyVersion).colour, 'green')
})

t.test('non-versioned with extras', async (t) => {
  const ctx = await setup(t, { models })
  const id = newId()
  const put = await ctx.app.inject({ method: 'PUT', url: `/note/${id}`, payload: { text: 'hi', mood: 'ok' } })
  t.equal(put.statusCode, 201)
  t.same(json(put), { entity_id: id, text: 'hi', mood: 'ok' })
  const patch = await ctx.app.inject({ method: 'PATCH', url: `/note/${id}`, payload: { mood: null, pinned: true } })
  t.same(json(patch), { entity_id: id, text: 'hi', pinned: true })
  t.same(await ctx.scan(ctx.tables(Note).main), [{ entity_id: id, text: 'hi', pinned: true }])
})

t.test('extra field names DynamoDB cannot store are a 400, never a 500', async (t) => {
  const ctx = await setup(t, { models })
  const payloads = {
    'empty top-level name': '{"name":"x","":"empty name"}',
    'empty name inside an extra object': '{"name":"x","dims":{"":1}}'
  }
  for (const [name, payload] of Object.entries(payloads)) {
    const res = await ctx.app.inject({ method: 'POST', url: '/gadget', headers: { 'content-type': 'application/json' }, payload })
    assertProblem(t, res, 400)
    t.comment(name)
  }
  t.same(await ctx.scan(ctx.tables(Gadget).main), [], 'nothing written')
})

t.test('extra numbers DynamoDB cannot store are a 400', async (t) => {
  const { app } = await setup(t, { models })
  const res = await app.inject({ method: 'POST', url: '/gadget', headers: { 'content-type': 'application/json' }, payload: '{"name":"x","big":1e200}' })
  assertProblem(t, res, 400)
})
