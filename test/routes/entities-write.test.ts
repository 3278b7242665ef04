import t from 'tap'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { randomUUID } from 'node:crypto'
import { Person } from '../../src/models/person.js'
import { Book } from '../../src/models/book.js'
import { defineModel } from '../../src/models/define.js'
import { Type } from 'typebox'
import { setup, json, etag } from '../support/helper.js'
import { assertProblem, assertServerFields, createPerson, newId, SERVER_FIELDS, ZERO_ID } from './support.js'

const sorted = (o: Record<string, unknown>): string[] => Object.keys(o).sort()

t.test('PUT', async (t) => {
  t.test('with If-Match: new version, previous_version = old, fields replaced exactly', async (t) => {
    const ctx = await setup(t)
    const created = await createPerson(ctx.app, { age: 36, metadata: { team: 'engines' } })
    const id = created.entity_id
    const res = await ctx.app.inject({
      method: 'PUT',
      url: `/person/${id}`,
      headers: { 'if-match': etag(created.version) },
      payload: { first_name: 'Augusta', last_name: 'King', metadata: { title: 'Countess' } }
    })
    t.equal(res.statusCode, 200)
    const body = json(res)
    assertServerFields(t, body)
    t.equal(body.entity_id, id)
    t.not(body.version, created.version, 'a new version')
    t.equal(body.previous_version, created.version, 'previous_version names the replaced version')
    t.equal(body.active, true)
    t.equal(res.headers.etag, etag(body.version))
    t.same(sorted(body), [...SERVER_FIELDS, 'first_name', 'last_name', 'metadata'].sort(), 'age (omitted) is gone')
    t.same(body.metadata, { title: 'Countess' }, 'objects are replaced, not merged')
    t.ok(String(body.changed_on) > String(created.changed_on), 'changed_on moves forward')

    const got = json(await ctx.app.inject({ method: 'GET', url: `/person/${id}` }))
    t.same(got, body, 'GET sees the new version')

    const main = (await ctx.scan(ctx.tables(Person).main)).find((r) => r.entity_id === id)
    t.equal(main?.version, body.version)
    t.notOk(main !== undefined && 'age' in main, 'age is gone from the stored item')
    const audit = await ctx.audit(Person, id)
    t.equal(audit.length, 1, 'the replaced version is in the audit table')
    t.equal(audit[0]?.version, created.version)
    t.equal(audit[0]?.age, 36, 'audit copy is the old state')
    const events = await ctx.events(id)
    t.same(events.map((e) => e.type), ['verso.person.created', 'verso.person.updated'])
    t.same(events[1]?.data, body)
  })

  t.test('with version in the body', async (t) => {
    const ctx = await setup(t)
    const created = await createPerson(ctx.app)
    const res = await ctx.app.inject({
      method: 'PUT', url: `/person/${created.entity_id}`, payload: { version: created.version, first_name: 'Ada', last_name: 'King' }
    })
    t.equal(res.statusCode, 200)
    const body = json(res)
    t.equal(body.previous_version, created.version)
    t.equal(body.last_name, 'King')
    t.not(body.version, created.version, 'version in the body is the precondition, not a value to store')
    t.equal(res.headers.etag, etag(body.version))
  })

  t.test('If-Match and body version that agree', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const res = await app.inject({
      method: 'PUT', url: `/person/${created.entity_id}`, headers: { 'if-match': etag(created.version) }, payload: { version: created.version, first_name: 'A', last_name: 'B' }
    })
    t.equal(res.statusCode, 200)
  })

  t.test('If-Match with a list of tags, one of them current', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const res = await app.inject({
      method: 'PUT', url: `/person/${created.entity_id}`, headers: { 'if-match': `${etag(newId())}, ${etag(created.version)}` }, payload: { first_name: 'A', last_name: 'B' }
    })
    t.equal(res.statusCode, 200)
  })

  t.test('no precondition → 428', async (t) => {
    const ctx = await setup(t)
    const created = await createPerson(ctx.app)
    const res = await ctx.app.inject({ method: 'PUT', url: `/person/${created.entity_id}`, payload: { first_name: 'A', last_name: 'B' } })
    assertProblem(t, res, 428, { code: 'VERSO_PRECONDITION_REQUIRED', instance: `/person/${created.entity_id}` })
    t.same(await ctx.audit(Person, created.entity_id), [], 'nothing written')
  })

  t.test('stale If-Match → 412 naming the current version', async (t) => {
    const ctx = await setup(t)
    const created = await createPerson(ctx.app)
    const url = `/person/${created.entity_id}`
    const v2 = json(await ctx.app.inject({ method: 'PUT', url, headers: { 'if-match': etag(created.version) }, payload: { first_name: 'A', last_name: 'B' } }))
    const res = await ctx.app.inject({ method: 'PUT', url, headers: { 'if-match': etag(created.version) }, payload: { first_name: 'C', last_name: 'D' } })
    const problem = assertProblem(t, res, 412, { code: 'VERSO_PRECONDITION_FAILED' })
    t.equal(problem.current_version, v2.version, 'current_version names the current version')
    t.equal(json(await ctx.app.inject({ method: 'GET', url })).first_name, 'A', 'not overwritten')
    t.equal((await ctx.audit(Person, created.entity_id)).length, 1, 'no audit copy for the refused write')
  })

  t.test('stale body version → 409 naming the current version', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const url = `/person/${created.entity_id}`
    const v2 = json(await app.inject({ method: 'PUT', url, payload: { version: created.version, first_name: 'A', last_name: 'B' } }))
    const res = await app.inject({ method: 'PUT', url, payload: { version: created.version, first_name: 'C', last_name: 'D' } })
    const problem = assertProblem(t, res, 409, { code: 'VERSO_VERSION_CONFLICT' })
    t.equal(problem.current_version, v2.version)
  })

  t.test('If-Match: * → 428', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const res = await app.inject({ method: 'PUT', url: `/person/${created.entity_id}`, headers: { 'if-match': '*' }, payload: { first_name: 'A', last_name: 'B' } })
    assertProblem(t, res, 428, { code: 'VERSO_PRECONDITION_REQUIRED' })
  })

  t.test('If-Match and body version disagree → 400', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const res = await app.inject({
      method: 'PUT', url: `/person/${created.entity_id}`, headers: { 'if-match': etag(created.version) }, payload: { version: newId(), first_name: 'A', last_name: 'B' }
    })
    assertProblem(t, res, 400)
    const other = await app.inject({
      method: 'PUT', url: `/person/${created.entity_id}`, headers: { 'if-match': etag(newId()) }, payload: { version: created.version, first_name: 'A', last_name: 'B' }
    })
    assertProblem(t, other, 400)
  })

  t.test('weak tag W/"<version>" never matches → 412', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const res = await app.inject({
      method: 'PUT', url: `/person/${created.entity_id}`, headers: { 'if-match': `W/${etag(created.version)}` }, payload: { first_name: 'A', last_name: 'B' }
    })
    const problem = assertProblem(t, res, 412, { code: 'VERSO_PRECONDITION_FAILED' })
    t.equal(problem.current_version, created.version)
  })

  t.test('malformed If-Match (unquoted) → 400', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const res = await app.inject({
      method: 'PUT', url: `/person/${created.entity_id}`, headers: { 'if-match': created.version }, payload: { first_name: 'A', last_name: 'B' }
    })
    assertProblem(t, res, 400)
  })

  t.test('malformed body version → 400', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const res = await app.inject({ method: 'PUT', url: `/person/${created.entity_id}`, payload: { version: 'v1', first_name: 'A', last_name: 'B' } })
    assertProblem(t, res, 400, { paths: ['/body/version'] })
  })

  t.test('unknown id → 404; soft-deleted → 404', async (t) => {
    const { app } = await setup(t)
    const unknown = await app.inject({ method: 'PUT', url: `/person/${newId()}`, headers: { 'if-match': etag(newId()) }, payload: { first_name: 'A', last_name: 'B' } })
    assertProblem(t, unknown, 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
    const created = await createPerson(app)
    const url = `/person/${created.entity_id}`
    const deleted = json(await app.inject({ method: 'DELETE', url, headers: { 'if-match': etag(created.version) } }))
    const res = await app.inject({ method: 'PUT', url, headers: { 'if-match': etag(deleted.version) }, payload: { first_name: 'A', last_name: 'B' } })
    assertProblem(t, res, 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  })

  t.test('the body is validated like a create: missing required, unknown field, entity_id', async (t) => {
    const ctx = await setup(t)
    const created = await createPerson(ctx.app)
    const url = `/person/${created.entity_id}`
    const headers = { 'if-match': etag(created.version) }
    assertProblem(t, await ctx.app.inject({ method: 'PUT', url, headers, payload: { first_name: 'A' } }), 400, { paths: ['/body/last_name'] })
    assertProblem(t, await ctx.app.inject({ method: 'PUT', url, headers, payload: { first_name: 'A', last_name: 'B', nick: 'x' } }), 400, { paths: ['/body/nick'] })
    assertProblem(t, await ctx.app.inject({ method: 'PUT', url, headers, payload: { first_name: 'A', last_name: 'B', entity_id: created.entity_id } }), 400, {
      code: 'VERSO_SERVER_MANAGED_FIELD', paths: ['/body/entity_id']
    })
    for (const field of ['previous_version', 'active', 'changed_by_id', 'changed_on']) {
      const res = await ctx.app.inject({ method: 'PUT', url, headers, payload: { first_name: 'A', last_name: 'B', [field]: field === 'active' ? true : created[field] } })
      assertProblem(t, res, 400, { code: 'VERSO_SERVER_MANAGED_FIELD', paths: [`/body/${field}`] })
    }
    t.same(await ctx.audit(Person, created.entity_id), [], 'nothing written')
  })

  t.test('Book: PUT without status gets the default again', async (t) => {
    const { app } = await setup(t)
    const created = json(await app.inject({ method: 'POST', url: '/book', payload: { title: 'Dune', author: 'Frank Herbert', status: 'finished', rating: 5 } }))
    const res = await app.inject({ method: 'PUT', url: `/book/${String(created.entity_id)}`, headers: { 'if-match': etag(created.version) }, payload: { title: 'Dune', author: 'Frank Herbert' } })
    t.equal(res.statusCode, 200)
    t.equal(json(res).status, 'to_read')
    t.notOk('rating' in json(res), 'rating is gone')
  })
})

t.test('PATCH', async (t) => {
  t.test('application/merge-patch+json: members replace, null removes, objects merge', async (t) => {
    const ctx = await setup(t)
    const created = await createPerson(ctx.app, { age: 36, metadata: { team: 'engines', floor: 2, nested: { a: 1, b: 2 } } })
    const url = `/person/${created.entity_id}`
    const res = await ctx.app.inject({
      method: 'PATCH',
      url,
      headers: { 'content-type': 'application/merge-patch+json', 'if-match': etag(created.version) },
      payload: JSON.stringify({ last_name: 'King', age: null, metadata: { floor: null, room: 'B', nested: { b: 3 } } })
    })
    t.equal(res.statusCode, 200)
    const body = json(res)
    assertServerFields(t, body)
    t.equal(body.previous_version, created.version)
    t.equal(res.headers.etag, etag(body.version))
    t.equal(body.first_name, 'Ada', 'untouched field kept')
    t.equal(body.last_name, 'King', 'member replaced')
    t.notOk('age' in body, 'null removes the field')
    t.same(body.metadata, { team: 'engines', room: 'B', nested: { a: 1, b: 3 } }, 'nested objects merge')
    t.same(json(await ctx.app.inject({ method: 'GET', url })), body)
    const stored = (await ctx.scan(ctx.tables(Person).main))[0]
    t.notOk(stored !== undefined && 'age' in stored, 'the removed field is gone from the item')
    t.same(JSON.parse(String(stored?.metadata)), body.metadata)
    const audit = await ctx.audit(Person, created.entity_id)
    t.equal(audit.length, 1)
    t.equal(audit[0]?.version, created.version)
    t.same((await ctx.events(created.entity_id)).map((e) => e.type), ['verso.person.created', 'verso.person.updated'])
  })

  t.test('application/json is accepted too, with a charset parameter', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const url = `/person/${created.entity_id}`
    const res = await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(created.version) }, payload: { age: 40 } })
    t.equal(res.statusCode, 200)
    t.equal(json(res).age, 40)
    const res2 = await app.inject({
      method: 'PATCH', url, headers: { 'content-type': 'application/merge-patch+json; charset=utf-8', 'if-match': res.headers.etag as string }, payload: JSON.stringify({ age: 41 })
    })
    t.equal(res2.statusCode, 200)
    t.equal(json(res2).age, 41)
  })

  t.test('version in the body as the precondition', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const res = await app.inject({ method: 'PATCH', url: `/person/${created.entity_id}`, payload: { version: created.version, age: 7 } })
    t.equal(res.statusCode, 200)
    t.equal(json(res).age, 7)
    t.equal(json(res).previous_version, created.version)
    const stale = await app.inject({ method: 'PATCH', url: `/person/${created.entity_id}`, payload: { version: created.version, age: 8 } })
    const problem = assertProblem(t, stale, 409, { code: 'VERSO_VERSION_CONFLICT' })
    t.equal(problem.current_version, json(res).version)
  })

  t.test('an empty patch still writes a new version with the same fields', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app, { age: 3 })
    const res = await app.inject({ method: 'PATCH', url: `/person/${created.entity_id}`, headers: { 'if-match': etag(created.version) }, payload: {} })
    t.equal(res.statusCode, 200)
    t.equal(json(res).age, 3)
    t.equal(json(res).previous_version, created.version)
  })

  t.test('missing required field after the merge → 400 with errors[]', async (t) => {
    const ctx = await setup(t)
    const created = await createPerson(ctx.app)
    const res = await ctx.app.inject({
      method: 'PATCH',
      url: `/person/${created.entity_id}`,
      headers: { 'content-type': 'application/merge-patch+json', 'if-match': etag(created.version) },
      payload: JSON.stringify({ first_name: null })
    })
    assertProblem(t, res, 400, { code: 'VERSO_VALIDATION_FAILED', paths: ['/body/first_name'] })
    t.same(await ctx.audit(Person, created.entity_id), [], 'nothing written')
    t.equal(json(await ctx.app.inject({ method: 'GET', url: `/person/${created.entity_id}` })).version, created.version)
  })

  t.test('wrong types and unknown fields → 400', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const url = `/person/${created.entity_id}`
    const headers = { 'if-match': etag(created.version) }
    assertProblem(t, await app.inject({ method: 'PATCH', url, headers, payload: { age: '12' } }), 400, { paths: ['/body/age'] })
    assertProblem(t, await app.inject({ method: 'PATCH', url, headers, payload: { metadata: 'text' } }), 400, { paths: ['/body/metadata'] })
    assertProblem(t, await app.inject({ method: 'PATCH', url, headers, payload: { nick: 'x' } }), 400, { paths: ['/body/nick'] })
    assertProblem(t, await app.inject({ method: 'PATCH', url, headers, payload: { first_name: '' } }), 400, { paths: ['/body/first_name'] })
  })

  t.test('server-managed fields in a patch → 400 naming them', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const url = `/person/${created.entity_id}`
    const headers = { 'if-match': etag(created.version) }
    for (const field of ['entity_id', 'previous_version', 'active', 'changed_by_id', 'changed_on']) {
      const res = await app.inject({ method: 'PATCH', url, headers, payload: { [field]: field === 'active' ? false : created[field] } })
      assertProblem(t, res, 400, { code: 'VERSO_SERVER_MANAGED_FIELD', paths: [`/body/${field}`] })
    }
  })

  t.test('a patch does not fill in defaults it did not send', async (t) => {
    const { app } = await setup(t)
    const created = json(await app.inject({ method: 'POST', url: '/book', payload: { title: 'Dune', author: 'Frank Herbert', status: 'finished' } }))
    const res = await app.inject({ method: 'PATCH', url: `/book/${String(created.entity_id)}`, headers: { 'if-match': etag(created.version) }, payload: { rating: 5 } })
    t.equal(res.statusCode, 200)
    t.equal(json(res).status, 'finished', 'status kept, not reset to the default')
    t.equal(json(res).rating, 5)
  })

  t.test('Book: removing the status by null falls back to the default', async (t) => {
    const ctx = await setup(t)
    const created = json(await ctx.app.inject({ method: 'POST', url: '/book', payload: { title: 'Dune', author: 'Frank Herbert', status: 'finished' } }))
    const res = await ctx.app.inject({ method: 'PATCH', url: `/book/${String(created.entity_id)}`, headers: { 'if-match': etag(created.version) }, payload: { status: null } })
    t.equal(res.statusCode, 200)
    const stored = (await ctx.scan(ctx.tables(Book).main))[0]
    t.equal(json(res).status, stored?.status, 'the answer is what was stored')
  })

  t.test('text/plain → 415; no precondition → 428; stale → 412; If-Match * → 428; unknown → 404', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const url = `/person/${created.entity_id}`
    const plain = await app.inject({ method: 'PATCH', url, headers: { 'content-type': 'text/plain', 'if-match': etag(created.version) }, payload: '{"age":1}' })
    assertProblem(t, plain, 415, { code: 'VERSO_UNSUPPORTED_MEDIA_TYPE' })
    const jsonPatch = await app.inject({ method: 'PATCH', url, headers: { 'content-type': 'application/json-patch+json', 'if-match': etag(created.version) }, payload: '[]' })
    assertProblem(t, jsonPatch, 415)
    assertProblem(t, await app.inject({ method: 'PATCH', url, payload: { age: 1 } }), 428, { code: 'VERSO_PRECONDITION_REQUIRED' })
    assertProblem(t, await app.inject({ method: 'PATCH', url, headers: { 'if-match': '*' }, payload: { age: 1 } }), 428)
    const stale = await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(newId()) }, payload: { age: 1 } })
    t.equal(assertProblem(t, stale, 412, { code: 'VERSO_PRECONDITION_FAILED' }).current_version, created.version)
    const weak = await app.inject({ method: 'PATCH', url, headers: { 'if-match': `W/${etag(created.version)}` }, payload: { age: 1 } })
    assertProblem(t, weak, 412)
    const unknown = await app.inject({ method: 'PATCH', url: `/person/${newId()}`, headers: { 'if-match': etag(created.version) }, payload: { age: 1 } })
    assertProblem(t, unknown, 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
    t.equal(json(await app.inject({ method: 'GET', url })).version, created.version, 'nothing written by any of them')
  })

  t.test('malformed merge-patch body → 400', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const url = `/person/${created.entity_id}`
    const headers = { 'content-type': 'application/merge-patch+json', 'if-match': etag(created.version) }
    assertProblem(t, await app.inject({ method: 'PATCH', url, headers, payload: '{"age": ' }), 400)
    assertProblem(t, await app.inject({ method: 'PATCH', url, headers, payload: '' }), 400)
    assertProblem(t, await app.inject({ method: 'PATCH', url, headers, payload: '{"__proto__": {"x": 1}}' }), 400)
    assertProblem(t, await app.inject({ method: 'PATCH', url, headers, payload: '[{"op":"add"}]' }), 400)
  })
})

t.test('DELETE', async (t) => {
  t.test('with If-Match: soft delete answers the final state', async (t) => {
    const ctx = await setup(t)
    const created = await createPerson(ctx.app, { age: 36 })
    const id = created.entity_id
    const url = `/person/${id}`
    const res = await ctx.app.inject({ method: 'DELETE', url, headers: { 'if-match': etag(created.version) } })
    t.equal(res.statusCode, 200)
    const body = json(res)
    assertServerFields(t, body)
    t.equal(body.active, false)
    t.equal(body.previous_version, created.version)
    t.not(body.version, created.version)
    t.equal(body.age, 36, 'the fields are kept')
    t.equal(res.headers.etag, etag(body.version))

    assertProblem(t, await ctx.app.inject({ method: 'GET', url }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
    const again = await ctx.app.inject({ method: 'DELETE', url, headers: { 'if-match': etag(body.version) } })
    assertProblem(t, again, 404, { code: 'VERSO_ENTITY_NOT_FOUND' })

    const main = await ctx.scan(ctx.tables(Person).main)
    t.equal(main.length, 1, 'the item stays (soft delete)')
    t.equal(main[0]?.active, false)
    t.equal(main[0]?.version, body.version)
    const audit = await ctx.audit(Person, id)
    t.equal(audit.length, 1)
    t.equal(audit[0]?.active, true, 'the audit copy is the active version')
    t.same((await ctx.events(id)).map((e) => e.type), ['verso.person.created', 'verso.person.deleted'])
  })

  t.test('with a JSON body {"version": "…"}', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const res = await app.inject({ method: 'DELETE', url: `/person/${created.entity_id}`, payload: { version: created.version } })
    t.equal(res.statusCode, 200)
    t.equal(json(res).active, false)
    t.equal(res.headers.etag, etag(json(res).version))
  })

  t.test('stale body version → 409; stale If-Match → 412', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const url = `/person/${created.entity_id}`
    const stale = await app.inject({ method: 'DELETE', url, payload: { version: newId() } })
    t.equal(assertProblem(t, stale, 409, { code: 'VERSO_VERSION_CONFLICT' }).current_version, created.version)
    const staleTag = await app.inject({ method: 'DELETE', url, headers: { 'if-match': etag(newId()) } })
    t.equal(assertProblem(t, staleTag, 412, { code: 'VERSO_PRECONDITION_FAILED' }).current_version, created.version)
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, 'still there')
  })

  t.test('without precondition → 428; If-Match * → 428', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const url = `/person/${created.entity_id}`
    assertProblem(t, await app.inject({ method: 'DELETE', url }), 428, { code: 'VERSO_PRECONDITION_REQUIRED' })
    assertProblem(t, await app.inject({ method: 'DELETE', url, headers: { 'if-match': '*' } }), 428)
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, 'still there')
  })

  t.test('body other than {version} → 400; unknown id → 404; malformed id → 400', async (t) => {
    const { app } = await setup(t)
    const created = await createPerson(app)
    const url = `/person/${created.entity_id}`
    assertProblem(t, await app.inject({ method: 'DELETE', url, payload: { version: created.version, first_name: 'x' } }), 400)
    assertProblem(t, await app.inject({ method: 'DELETE', url, payload: { version: 'nope' } }), 400)
    assertProblem(t, await app.inject({ method: 'DELETE', url, headers: { 'content-type': 'text/plain' }, payload: created.version }), 415)
    assertProblem(t, await app.inject({ method: 'DELETE', url: `/person/${newId()}`, headers: { 'if-match': etag(created.version) } }), 404)
    assertProblem(t, await app.inject({ method: 'DELETE', url: '/person/XYZ', headers: { 'if-match': etag(created.version) } }), 400, { paths: ['/params/id'] })
  })
})

t.test('a chain of writes: each previous_version is the version before, changed_on strictly increases', async (t) => {
  const ctx = await setup(t)
  let current = await createPerson(ctx.app)
  const chain = [current]
  for (let i = 0; i < 4; i++) {
    const res = await ctx.app.inject({ method: 'PATCH', url: `/person/${current.entity_id}`, headers: { 'if-match': etag(current.version) }, payload: { age: i } })
    t.equal(res.statusCode, 200)
    const next = json(res)
    t.equal(next.previous_version, current.version)
    t.ok(String(next.changed_on) > String(current.changed_on), 'changed_on strictly later')
    current = next
    chain.push(next)
  }
  const audit = await ctx.audit(Person, current.entity_id)
  t.same(audit.map((a) => a.version).sort(), chain.slice(0, -1).map((c) => c.version).sort(), 'every replaced version is in the audit table')
  t.equal((await ctx.events(current.entity_id)).length, 5)
})

t.test('concurrent writes on the same base version: one wins, the others get 412 naming the winner', async (t) => {
  const ctx = await setup(t)
  const created = await createPerson(ctx.app)
  const url = `/person/${created.entity_id}`
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) =>
    ctx.app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(created.version) }, payload: { age: i } })))
  const winners = results.filter((r) => r.statusCode === 200)
  t.equal(winners.length, 1, 'exactly one write succeeds')
  const winner = json(winners[0]!)
  for (const r of results.filter((r) => r.statusCode !== 200)) {
    t.equal(assertProblem(t, r, 412, { code: 'VERSO_PRECONDITION_FAILED' }).current_version, winner.version)
  }
  t.same(json(await ctx.app.inject({ method: 'GET', url })), winner, 'the stored state is the winner')
  t.equal((await ctx.audit(Person, created.entity_id)).length, 1, 'one audit copy')
  t.equal((await ctx.events(created.entity_id)).length, 2, 'one event per committed version')
})

t.test('concurrent creates with the same client id: one 201, the others 409', async (t) => {
  const ctx = await setup(t)
  const id = newId()
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) =>
    ctx.app.inject({ method: 'POST', url: '/person', payload: { entity_id: id, first_name: `P${i}`, last_name: 'X' } })))
  t.equal(results.filter((r) => r.statusCode === 201).length, 1)
  for (const r of results.filter((r) => r.statusCode !== 201)) assertProblem(t, r, 409, { code: 'VERSO_ALREADY_EXISTS' })
  t.equal((await ctx.scan(ctx.tables(Person).main)).length, 1)
  t.equal((await ctx.events(id)).length, 1)
})

t.test('an entity written by Rococo (UUIDv4 version, clock ahead of ours) is updated correctly', async (t) => {
  const ctx = await setup(t)
  const id = newId()
  const rococoVersion = randomUUID().replaceAll('-', '')
  const future = new Date(Date.now() + 3600_000)
  future.setUTCMilliseconds(250)
  const changedOn = `${future.toISOString().slice(0, 19)}.250000+00:00`
  await ctx.client.send(new PutItemCommand({
    TableName: ctx.tables(Person).main,
    Item: marshall({
      entity_id: id,
      version: rococoVersion,
      previous_version: ZERO_ID,
      active: true,
      changed_by_id: ZERO_ID,
      changed_on: changedOn,
      first_name: 'Ada',
      last_name: 'Lovelace',
      metadata: JSON.stringify({ team: 'engines' })
    })
  }))
  const got = await ctx.app.inject({ method: 'GET', url: `/person/${id}` })
  t.equal(got.statusCode, 200)
  t.equal(got.headers.etag, etag(rococoVersion))
  t.same(json(got).metadata, { team: 'engines' })

  const res = await ctx.app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(rococoVersion) }, payload: { age: 1 } })
  t.equal(res.statusCode, 200)
  const body = json(res)
  t.equal(body.previous_version, rococoVersion)
  t.equal(body.changed_on, `${future.toISOString().slice(0, 19)}.251000+00:00`, 'changed_on is the predecessor + 1 ms when our clock is behind')
  const audit = await ctx.audit(Person, id)
  t.equal(audit[0]?.version, rococoVersion)
  t.equal(audit[0]?.changed_on, changedOn, 'the audit copy is the item exactly as stored')
})

t.test('PATCH: null on an object field removes it; arrays inside objects are replaced', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app, { metadata: { tags: ['a', 'b'], team: 'x' } })
  const url = `/person/${created.entity_id}`
  const v2 = json(await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(created.version) }, payload: { metadata: { tags: ['c'] } } }))
  t.same(v2.metadata, { tags: ['c'], team: 'x' })
  const v3 = json(await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(v2.version) }, payload: { metadata: null } }))
  t.notOk('metadata' in v3, 'metadata removed')
})

t.test('PATCH 415 tells which media types PATCH takes', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const res = await app.inject({
    method: 'PATCH', url: `/person/${created.entity_id}`, headers: { 'content-type': 'text/plain', 'if-match': etag(created.version) }, payload: '{"age":1}'
  })
  const problem = assertProblem(t, res, 415, { code: 'VERSO_UNSUPPORTED_MEDIA_TYPE' })
  t.match(problem.detail, 'application/merge-patch+json', 'the detail names the merge-patch type PATCH is for')
  t.match(res.headers['accept-patch'], 'application/merge-patch+json', 'Accept-Patch on a 415 to PATCH (RFC 5789 §2.2)')
})

t.test('a null field is not stored, so neither the answer nor the event carries it', async (t) => {
  const Note = defineModel({
    name: 'Note',
    schema: Type.Object({ title: Type.String(), detail: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])), rank: Type.Optional(Type.Union([Type.Integer(), Type.Null()])) }),
    example: { title: 't' }
  })
  const ctx = await setup(t, { models: [Note] })
  const created = await ctx.app.inject({ method: 'POST', url: '/note', payload: { title: 'a', detail: null, rank: null } })
  t.equal(created.statusCode, 201)
  t.same(sorted(json(created)).filter((k) => !SERVER_FIELDS.includes(k)), ['title'], 'create answers without the null fields')
  const { entity_id: id, version } = json(created)
  const put = await ctx.app.inject({ method: 'PUT', url: `/note/${String(id)}`, headers: { 'if-match': etag(version) }, payload: { title: 'b', detail: null, rank: 3 } })
  t.equal(put.statusCode, 200)
  t.notOk('detail' in json(put), 'replace answers without the null field')
  const read = await ctx.app.inject({ method: 'GET', url: `/note/${String(id)}` })
  t.same(json(read), json(put), 'the answer to the write is what a read returns')
  const events = await ctx.events(String(id))
  t.ok(events.every((e) => !('detail' in e.data)), 'no event carries the null field')
})
