import t from 'tap'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { Type } from 'typebox'
import { Book } from '../../src/models/book.js'
import { defineModel } from '../../src/models/define.js'
import { Person } from '../../src/models/person.js'
import { ZERO_ID } from '../../src/models/entity.js'
import { setup, json, etag } from '../support/helper.js'

// Items another writer (Rococo, a migration, a person with the console) put in the tables, in shapes verso
// itself would not write. Reads must not fail on them, writes must not damage them.

const V1 = '0123456789abcdef0123456789abcdef'

t.test('items missing fields, with text where JSON was expected, or with undeclared attributes read back as stored', async (t) => {
  const ctx = await setup(t)
  const id = 'c'.repeat(32)
  await ctx.client.send(new PutItemCommand({
    TableName: ctx.tables(Person).main,
    Item: {
      entity_id: { S: id },
      version: { S: V1 },
      previous_version: { S: ZERO_ID },
      active: { BOOL: true },
      changed_on: { S: '2026-01-01T00:00:00+00:00' },
      // no changed_by_id (Rococo leaves None out), no last_name
      first_name: { S: 'Ada' },
      metadata: { S: 'not json' },
      nickname: { S: 'countess' }
    }
  }))
  const got = await ctx.app.inject({ method: 'GET', url: `/person/${id}` })
  t.equal(got.statusCode, 200)
  t.same(json(got), { entity_id: id, version: V1, previous_version: ZERO_ID, active: true, changed_on: '2026-01-01T00:00:00+00:00', first_name: 'Ada', metadata: 'not json', nickname: 'countess' })
  const list = await ctx.app.inject({ method: 'GET', url: '/person' })
  t.equal(list.statusCode, 200, 'a page holding such an item still lists')
  t.equal(json(list).items.length, 1)

  const bookId = 'd'.repeat(32)
  await ctx.client.send(new PutItemCommand({
    TableName: ctx.tables(Book).main,
    Item: { entity_id: { S: bookId }, version: { S: V1 }, previous_version: { S: ZERO_ID }, active: { BOOL: true }, changed_on: { S: '2026-01-01T00:00:00+00:00' }, changed_by_id: { S: ZERO_ID }, title: { S: 'T' }, author: { S: 'A' } }
  }))
  t.notOk('status' in json(await ctx.app.inject({ method: 'GET', url: `/book/${bookId}` })), 'no default is invented on the way out')
})

t.test('a patch carries undeclared stored attributes through and leaves them untouched', async (t) => {
  const ctx = await setup(t)
  const id = 'e'.repeat(32)
  await ctx.client.send(new PutItemCommand({
    TableName: ctx.tables(Person).main,
    Item: { entity_id: { S: id }, version: { S: V1 }, previous_version: { S: ZERO_ID }, active: { BOOL: true }, changed_on: { S: '2026-01-01T00:00:00+00:00' }, changed_by_id: { S: ZERO_ID }, first_name: { S: 'Ada' }, last_name: { S: 'L' }, nickname: { S: 'countess' } }
  }))
  const res = await ctx.app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(V1), 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ age: 3 }) })
  t.equal(res.statusCode, 200, 'the patch is not blamed on a field the client never sent')
  t.equal(json(res).nickname, 'countess')
  const stored = (await ctx.scanRaw(ctx.tables(Person).main))[0]!
  t.same(stored.nickname, { S: 'countess' })
  t.same(stored.age, { N: '3' })
  const rejected = await ctx.app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(json(res).version), 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ other: 1 }) })
  t.equal(rejected.statusCode, 400, 'a client still cannot add an undeclared field')
})

const Gadget = defineModel({ name: 'Gadget', allowExtra: true, schema: Type.Object({ name: Type.String() }), example: { name: 'g' } })

t.test('numbers beyond a double are not rounded by writes that do not touch them', async (t) => {
  const ctx = await setup(t, { models: [Gadget] })
  const id = 'f'.repeat(32)
  const serial = '12345678901234567891'
  const price = '0.1000000000000000055511151231257827'
  await ctx.client.send(new PutItemCommand({
    TableName: ctx.tables(Gadget).main,
    Item: { entity_id: { S: id }, version: { S: V1 }, previous_version: { S: ZERO_ID }, active: { BOOL: true }, changed_on: { S: '2026-01-01T00:00:00+00:00' }, changed_by_id: { S: ZERO_ID }, name: { S: 'g' }, serial: { N: serial }, price: { N: price } }
  }))
  const patched = await ctx.app.inject({ method: 'PATCH', url: `/gadget/${id}`, headers: { 'if-match': etag(V1), 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ name: 'm' }) })
  t.equal(patched.statusCode, 200)
  let stored = (await ctx.scanRaw(ctx.tables(Gadget).main))[0]!
  t.same(stored.serial, { N: serial }, 'exact after a patch')
  t.same(stored.price, { N: price })
  const deleted = await ctx.app.inject({ method: 'DELETE', url: `/gadget/${id}`, headers: { 'if-match': etag(json(patched).version) } })
  t.equal(deleted.statusCode, 200)
  stored = (await ctx.scanRaw(ctx.tables(Gadget).main))[0]!
  t.same(stored.serial, { N: serial }, 'exact after a soft delete')
  const audit = await ctx.scanRaw(ctx.tables(Gadget).audit)
  t.ok(audit.every((a) => a.serial?.N === serial), 'and in every audit copy')
})

t.test('extra values nested deeper than DynamoDB stores are a 400, not a 500', async (t) => {
  // BODY_MAX_DEPTH (32 by default) would refuse this body before DynamoDB sees it: raise it to reach DynamoDB's own limit.
  const ctx = await setup(t, { models: [Gadget], config: { BODY_MAX_DEPTH: 64 } })
  let deep: Record<string, unknown> = { leaf: 1 }
  for (let i = 0; i < 40; i++) deep = { a: deep }
  const res = await ctx.app.inject({ method: 'POST', url: '/gadget', payload: { name: 'x', deep } })
  t.equal(res.statusCode, 400)
  t.equal(json(res).code, 'VERSO_UNSTORABLE_VALUE')
})

t.test('non-versioned upsert: concurrent first PUTs create once', async (t) => {
  const Setting = defineModel({ name: 'Setting', versioned: false, schema: Type.Object({ value: Type.String() }), example: { value: 'v' } })
  const ctx = await setup(t, { models: [Setting] })
  const id = '1'.repeat(32)
  const results = await Promise.all(Array.from({ length: 10 }, async (_, i) => await ctx.app.inject({ method: 'PUT', url: `/setting/${id}`, payload: { value: String(i) } })))
  t.equal(results.filter((r) => r.statusCode === 201).length, 1, 'exactly one 201')
  t.equal(results.filter((r) => r.statusCode === 200).length, 9)
  t.equal((await ctx.events(id)).filter((e) => e.type === 'verso.setting.created').length, 1, 'one created event')
})
