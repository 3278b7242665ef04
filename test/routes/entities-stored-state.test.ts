import t from 'tap'
import { PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb'
import type { LightMyRequestResponse } from 'fastify'
import { Type } from 'typebox'
import { Book } from '../../src/models/book.js'
import { defineModel, type Model } from '../../src/models/define.js'
import { ZERO_ID } from '../../src/models/entity.js'
import { Person } from '../../src/models/person.js'
import { setup, json, etag, type TestContext } from '../support/helper.js'

// Items another writer (Rococo, an older model) stored with values the model now refuses: a patch that leaves
// them as they are is refused naming the stored fields, not a body field the client never sent.

const V1 = '0123456789abcdef0123456789abcdef'
const Setting = defineModel({
  name: 'Setting',
  versioned: false,
  schema: Type.Object({ key: Type.String({ minLength: 1 }), level: Type.Optional(Type.Integer()) }, { additionalProperties: false }),
  example: { key: 'theme' }
})

async function putRaw (ctx: TestContext, model: Model, id: string, fields: Record<string, AttributeValue>): Promise<void> {
  const meta: Record<string, AttributeValue> = model.versioned
    ? { version: { S: V1 }, previous_version: { S: ZERO_ID }, active: { BOOL: true }, changed_on: { S: '2026-01-01T00:00:00+00:00' }, changed_by_id: { S: ZERO_ID } }
    : {}
  await ctx.client.send(new PutItemCommand({ TableName: ctx.tables(model).main, Item: { entity_id: { S: id }, ...meta, ...fields } }))
}

const patch = async (ctx: TestContext, url: string, body: unknown, version = V1): Promise<LightMyRequestResponse> =>
  await ctx.app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(version), 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify(body) })

t.test('a patch leaving invalid stored values as they are: 409 naming each stored field and its value', async (t) => {
  const ctx = await setup(t, { models: [Book, Person, Setting] })
  const id = 'a'.repeat(32)
  await putRaw(ctx, Book, id, { title: { S: 'Kindred' }, author: { S: 'Octavia E. Butler' }, rating: { N: '4.5' }, status: { S: 'abandoned' } })

  const refused = await patch(ctx, `/book/${id}`, { author: 'O. E. Butler' })
  t.equal(refused.statusCode, 409)
  const problem = json(refused)
  t.equal(problem.code, 'VERSO_STORED_STATE_INVALID')
  t.equal(problem.type, 'urn:verso:problem:stored-state-invalid')
  t.match(problem.detail, /rating is 4\.5 \(must be integer\)/)
  t.match(problem.detail, /status is "abandoned" \(must be one of "to_read", "reading", "finished"\)/)
  t.match(problem.detail, /send status, rating in the patch with a valid value .* or replace the whole entity with PUT/)
  t.notMatch(problem.detail, /\/body\//, 'no body field is blamed')
  t.equal(problem.errors, undefined)
  t.same(problem.stored_fields, [
    { path: '/status', message: 'must be one of "to_read", "reading", "finished"', value: 'abandoned' },
    { path: '/rating', message: 'must be integer', value: 4.5 }
  ])
  t.equal((await ctx.scanRaw(ctx.tables(Book).main))[0]?.author?.S, 'Octavia E. Butler', 'nothing written')

  const ownMistake = await patch(ctx, `/book/${id}`, { rating: 9 })
  t.equal(ownMistake.statusCode, 400, 'the patch\'s own invalid value is still a 400')
  t.equal(json(ownMistake).code, 'VERSO_VALIDATION_FAILED')
  t.match(json(ownMistake).errors, [{ path: '/body/rating', message: 'must be <= 5' }], 'naming the body field')
  const removed = await patch(ctx, `/book/${id}`, { title: null })
  t.equal(removed.statusCode, 400, 'a patch removing a required field: its own mistake')
  t.same(json(removed).errors, [{ path: '/body/title', message: 'is required' }], 'naming only the body field, not the stored ones')

  const halfFixed = await patch(ctx, `/book/${id}`, { rating: 4 })
  t.equal(halfFixed.statusCode, 409)
  t.same(json(halfFixed).stored_fields.map((f: { path: string }) => f.path), ['/status'], 'the field sent is no longer blamed')
  t.match(json(halfFixed).detail, /The patch would keep this value: send status in the patch/)

  const fixed = await patch(ctx, `/book/${id}`, { author: 'O. E. Butler', rating: null, status: 'finished' })
  t.equal(fixed.statusCode, 200, 'a patch that sets (or removes) the invalid fields succeeds')
  t.same(json(fixed), { ...json(fixed), author: 'O. E. Butler', status: 'finished' })
  t.notOk('rating' in json(fixed))
})

t.test('a required field the stored item lacks, and an object stored as a list', async (t) => {
  const ctx = await setup(t, { models: [Book, Person, Setting] })
  const book = 'b'.repeat(32)
  await putRaw(ctx, Book, book, { author: { S: 'Edge Author' } })
  const untitled = await patch(ctx, `/book/${book}`, { status: 'reading' })
  t.equal(untitled.statusCode, 409)
  t.match(json(untitled).detail, /title is missing \(is required\)/)
  t.same(json(untitled).stored_fields, [{ path: '/title', message: 'is required' }], 'no value: there is none')
  t.equal((await patch(ctx, `/book/${book}`, { status: 'reading', title: 'Found' })).statusCode, 200)

  const person = 'c'.repeat(32)
  await putRaw(ctx, Person, person, { first_name: { S: 'Ada' }, last_name: { S: 'Lovelace' }, metadata: { S: '["a",1]' } })
  const listed = await patch(ctx, `/person/${person}`, { age: 36 })
  t.equal(listed.statusCode, 409)
  t.same(json(listed).stored_fields, [{ path: '/metadata', message: 'must be object', value: ['a', 1] }])
  t.match(json(listed).detail, /metadata is \["a",1\] \(must be object\)/)
  const replaced = await patch(ctx, `/person/${person}`, { age: 36, metadata: { team: 'engines' } })
  t.equal(replaced.statusCode, 200, 'a patch replacing the list with an object succeeds')
  t.same(json(replaced).metadata, { team: 'engines' })
})

t.test('non-versioned models and transactions answer the same way', async (t) => {
  const ctx = await setup(t, { models: [Book, Person, Setting] })
  const setting = 'd'.repeat(32)
  await putRaw(ctx, Setting, setting, { key: { S: 'theme' }, level: { N: '2.5' } })
  const refused = await ctx.app.inject({ method: 'PATCH', url: `/setting/${setting}`, headers: { 'content-type': 'application/merge-patch+json' }, payload: { key: 'mode' } })
  t.equal(refused.statusCode, 409)
  t.match(json(refused), { code: 'VERSO_STORED_STATE_INVALID', stored_fields: [{ path: '/level', value: 2.5 }] })

  const book = 'e'.repeat(32)
  await putRaw(ctx, Book, book, { title: { S: 'T' }, author: { S: 'A' }, rating: { N: '4.5' } })
  const tx = await ctx.app.inject({ method: 'POST', url: '/_transactions', payload: { operations: [{ op: 'patch', model: 'book', id: book, version: V1, patch: { author: 'B' } }] } })
  t.equal(tx.statusCode, 409)
  t.match(json(tx).errors, [{ operation: 0, code: 'VERSO_STORED_STATE_INVALID', status: 409, message: /rating is 4\.5 \(must be integer\)/ }])
  const own = await ctx.app.inject({ method: 'POST', url: '/_transactions', payload: { operations: [{ op: 'patch', model: 'book', id: book, version: V1, patch: { rating: 0 } }] } })
  t.equal(own.statusCode, 400)
  t.match(json(own).errors, [{ operation: 0, code: 'VERSO_VALIDATION_FAILED', message: /\/body\/operations\/0\/patch\/rating must be >= 1/ }])
})
