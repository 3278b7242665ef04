import t from 'tap'
import { connect } from 'node:net'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { Type } from 'typebox'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { defineModel } from '../../src/models/define.js'
import { models as builtInModels } from '../../src/models/index.js'
import { etag, json, setup } from '../support/helper.js'
import { newId } from '../routes/support.js'
import { Contract } from './contract.js'

/**
 * Every route of the API, on its success and error paths, through the document the app serves: each answer
 * must have a declared status, a body valid against the schema declared for it and the headers declared required.
 */

const Note = defineModel({ name: 'Note', versioned: false, schema: Type.Object({ text: Type.String({ minLength: 1 }) }, { additionalProperties: false }), example: { text: 'hello' } })

interface Session {
  contract: Contract
  send: (request: InjectOptions) => Promise<{ statusCode: number, headers: Record<string, any>, body: string, json: () => any }>
  violations: string[]
}

async function session (app: FastifyInstance): Promise<Session> {
  const contract = new Contract(json(await app.inject({ method: 'GET', url: '/openapi.json' })))
  const violations: string[] = []
  return {
    contract,
    violations,
    send: async (request) => {
      const res = await app.inject(request)
      violations.push(...contract.check(String(request.method ?? 'GET'), String(request.url), res))
      return { statusCode: res.statusCode, headers: res.headers, body: res.body, json: () => json(res) }
    }
  }
}

t.test('a session of every route, AUTH_MODE=none: every answer is what the served document declares', async (t) => {
  const { app } = await setup(t, { models: [...builtInModels, Note] })
  const { contract, send, violations } = await session(app)
  const JSON_TYPE = { 'content-type': 'application/json' }
  const MERGE = { 'content-type': 'application/merge-patch+json' }

  t.same(contract.doc.security, [], 'no security requirement without authentication')
  t.notOk(contract.doc.components.securitySchemes, 'and no schemes')

  await send({ method: 'GET', url: '/health/live' })
  await send({ method: 'GET', url: '/health/ready' })
  await send({ method: 'GET', url: '/_models' })

  // Create: 201, replay, key reused, invalid, managed field, media type, too large, exists.
  const created = await send({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines' } } })
  t.equal(created.statusCode, 201)
  const ada = created.json()
  const key = { 'idempotency-key': newId() }
  await send({ method: 'POST', url: '/person', headers: key, payload: { first_name: 'Grace', last_name: 'Hopper' } })
  t.equal((await send({ method: 'POST', url: '/person', headers: key, payload: { first_name: 'Grace', last_name: 'Hopper' } })).headers['idempotent-replayed'], 'true')
  t.equal((await send({ method: 'POST', url: '/person', headers: key, payload: { first_name: 'Grace', last_name: 'Other' } })).statusCode, 422)
  t.equal((await send({ method: 'POST', url: '/person', payload: { first_name: 'Ada' } })).statusCode, 400)
  t.equal((await send({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'L', version: newId() } })).statusCode, 400)
  t.equal((await send({ method: 'POST', url: '/person', headers: { 'content-type': 'text/plain' }, payload: 'hello' })).statusCode, 415)
  t.equal((await send({ method: 'POST', url: '/person', headers: JSON_TYPE, payload: JSON.stringify({ first_name: 'x'.repeat(2 << 20), last_name: 'y' }) })).statusCode, 413)
  t.equal((await send({ method: 'POST', url: '/person', payload: { entity_id: ada.entity_id, first_name: 'Ada', last_name: 'Again' } })).statusCode, 409)

  // Read: 200, 304 with its ETag, as_of, include_deleted, 404, 400.
  const id = String(ada.entity_id)
  await send({ method: 'GET', url: `/person/${id}` })
  t.equal((await send({ method: 'GET', url: `/person/${id}`, headers: { 'if-none-match': etag(ada.version) } })).statusCode, 304)
  await send({ method: 'GET', url: `/person/${id}?as_of=${encodeURIComponent(new Date(Date.now() + 1000).toISOString())}&include_deleted=true` })
  t.equal((await send({ method: 'GET', url: `/person/${newId()}` })).statusCode, 404)
  t.equal((await send({ method: 'GET', url: '/person/not-an-id' })).statusCode, 400)

  // List and count: pages, projections, filters, order where a range index exists, refusals.
  await send({ method: 'GET', url: '/person' })
  const projected = await send({ method: 'GET', url: '/person?fields=first_name&limit=1' })
  t.same(Object.keys(projected.json().items[0] ?? {}).sort(), ['entity_id', 'first_name'], 'a projection holds entity_id and the field asked for')
  await send({ method: 'GET', url: `/person?cursor=${encodeURIComponent(String(projected.json().next_cursor))}&fields=first_name&limit=1` })
  await send({ method: 'GET', url: '/person?last_name=Lovelace&include_deleted=false' })
  t.equal((await send({ method: 'GET', url: '/person?age=old' })).statusCode, 400)
  t.equal((await send({ method: 'GET', url: '/person?order=asc&last_name=Lovelace' })).statusCode, 400, 'order on a model without a range index')
  t.equal((await send({ method: 'GET', url: '/person?sort=age' })).statusCode, 400)
  await send({ method: 'POST', url: '/book', payload: { title: 'Kindred', author: 'Octavia E. Butler', rating: 5 } })
  await send({ method: 'GET', url: '/book?author=Octavia%20E.%20Butler&order=desc' })
  await send({ method: 'GET', url: '/person/count?last_name=Lovelace' })
  t.equal((await send({ method: 'GET', url: '/person/count?nope=1' })).statusCode, 400)

  // Writes on a versioned model: 200, 412, 428, 409, 400 unquoted If-Match, 404, 415.
  const patched = await send({ method: 'PATCH', url: `/person/${id}`, headers: { ...MERGE, 'if-match': etag(ada.version) }, payload: JSON.stringify({ age: 37 }) })
  t.equal(patched.statusCode, 200)
  const v2 = String(patched.json().version)
  t.equal((await send({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(ada.version) }, payload: { first_name: 'Ada', last_name: 'Byron' } })).statusCode, 412)
  t.equal((await send({ method: 'PUT', url: `/person/${id}`, payload: { first_name: 'Ada', last_name: 'Byron' } })).statusCode, 428)
  t.equal((await send({ method: 'PUT', url: `/person/${id}`, payload: { first_name: 'Ada', last_name: 'Byron', version: ada.version } })).statusCode, 409)
  t.equal((await send({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': v2 }, payload: { first_name: 'Ada', last_name: 'Byron' } })).statusCode, 400)
  t.equal((await send({ method: 'PUT', url: `/person/${newId()}`, headers: { 'if-match': etag(v2) }, payload: { first_name: 'Ada', last_name: 'Byron' } })).statusCode, 404)
  const replaced = await send({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(v2) }, payload: { first_name: 'Ada', last_name: 'Byron', age: 36 } })
  t.equal(replaced.statusCode, 200)
  const v3 = String(replaced.json().version)
  t.equal((await send({ method: 'PATCH', url: `/person/${id}`, headers: { 'content-type': 'text/plain', 'if-match': etag(v3) }, payload: 'x' })).statusCode, 415)
  t.equal((await send({ method: 'PATCH', url: `/person/${id}`, headers: { ...MERGE, 'if-match': etag(v3) }, payload: JSON.stringify({ first_name: null }) })).statusCode, 400)

  // History: versions, one version, diff, restore (If-Match, {} and no body, stale).
  await send({ method: 'GET', url: `/person/${id}/versions?limit=2` })
  t.equal((await send({ method: 'GET', url: `/person/${newId()}/versions` })).statusCode, 404)
  t.equal((await send({ method: 'GET', url: `/person/${id}/integrity` })).json().linear, true)
  t.equal((await send({ method: 'GET', url: `/person/${newId()}/integrity` })).statusCode, 404)
  await send({ method: 'GET', url: `/person/${id}/versions/${String(ada.version)}` })
  t.equal((await send({ method: 'GET', url: `/person/${id}/versions/${newId()}` })).statusCode, 404)
  await send({ method: 'GET', url: `/person/${id}/versions/${String(ada.version)}/diff` })
  await send({ method: 'GET', url: `/person/${id}/versions/${String(ada.version)}/diff?to=${v3}&include_meta=true` })
  t.equal((await send({ method: 'GET', url: `/person/${id}/versions/${newId()}/diff` })).statusCode, 404)
  t.equal((await send({ method: 'POST', url: `/person/${id}/versions/${String(ada.version)}/restore`, payload: {} })).statusCode, 428, 'restore with {} asks for the precondition, once')
  t.equal((await send({ method: 'POST', url: `/person/${id}/versions/${String(ada.version)}/restore` })).statusCode, 428)
  t.equal((await send({ method: 'POST', url: `/person/${id}/versions/${String(ada.version)}/restore`, headers: { 'if-match': etag(v2) } })).statusCode, 412)
  const restored = await send({ method: 'POST', url: `/person/${id}/versions/${String(ada.version)}/restore`, headers: { 'if-match': etag(v3) } })
  t.equal(restored.statusCode, 200)
  const v4 = String(restored.json().version)

  // Delete: 428 without precondition, 200 with If-Match and no body, and with a body version.
  t.equal((await send({ method: 'DELETE', url: `/person/${id}` })).statusCode, 428)
  t.equal((await send({ method: 'DELETE', url: `/person/${id}`, headers: { 'if-match': etag(v4) } })).statusCode, 200)
  const other = (await send({ method: 'POST', url: '/person', payload: { first_name: 'Mary', last_name: 'Somerville' } })).json()
  t.equal((await send({ method: 'DELETE', url: `/person/${String(other.entity_id)}`, payload: { version: other.version } })).statusCode, 200)
  t.equal((await send({ method: 'DELETE', url: `/person/${newId()}`, headers: { 'if-match': etag(v4) } })).statusCode, 404)

  // A model without versions: create or replace with PUT (201, 200), patch, delete for good; no history documented.
  const noteId = newId()
  t.equal((await send({ method: 'PUT', url: `/note/${noteId}`, payload: { text: 'first' } })).statusCode, 201)
  t.equal((await send({ method: 'PUT', url: `/note/${noteId}`, payload: { text: 'second' } })).statusCode, 200)
  await send({ method: 'POST', url: '/note', payload: { text: 'posted' } })
  await send({ method: 'PATCH', url: `/note/${noteId}`, headers: MERGE, payload: JSON.stringify({ text: 'third' }) })
  await send({ method: 'GET', url: `/note/${noteId}` })
  t.equal((await send({ method: 'DELETE', url: `/note/${noteId}` })).statusCode, 200)
  t.equal((await send({ method: 'DELETE', url: `/note/${noteId}` })).statusCode, 404)
  t.notOk(contract.pathOf(`/note/${noteId}/versions`), 'the history of a model without versions is not documented')
  const notHere = await app.inject({ method: 'GET', url: `/note/${noteId}/versions` })
  t.equal(notHere.statusCode, 405, 'and answers 405')

  // Transactions: committed (results typed per model and op), invalid, stale, missing.
  const book = (await send({ method: 'POST', url: '/book', payload: { title: 'The Dispossessed', author: 'Ursula K. Le Guin' } })).json()
  const committed = await send({
    method: 'POST',
    url: '/_transactions',
    payload: {
      operations: [
        { op: 'create', model: 'person', body: { first_name: 'Ursula', last_name: 'Le Guin' } },
        { op: 'patch', model: 'book', id: book.entity_id, version: book.version, patch: { status: 'finished' } },
        { op: 'check', model: 'person', id: newId(), exists: false },
        { op: 'replace', model: 'note', id: newId(), body: { text: 'in a transaction' } }
      ]
    }
  })
  t.equal(committed.statusCode, 200)
  t.equal((await send({ method: 'POST', url: '/_transactions', payload: { operations: [{ op: 'explode', model: 'person' }] } })).statusCode, 400)
  t.equal((await send({ method: 'POST', url: '/_transactions', payload: { operations: [{ op: 'delete', model: 'book', id: book.entity_id, version: book.version }] } })).statusCode, 409)
  t.equal((await send({ method: 'POST', url: '/_transactions', payload: { operations: [{ op: 'delete', model: 'book', id: newId(), version: newId() }] } })).statusCode, 404)
  t.equal((await send({ method: 'POST', url: '/_transactions', headers: { 'content-type': 'text/plain' }, payload: 'x' })).statusCode, 415)

  // Bulk import: NDJSON answers, wrong media type, a body declared too large.
  const NDJSON = { 'content-type': 'application/x-ndjson' }
  const bulk = await send({ method: 'POST', url: '/book/_bulk', headers: NDJSON, payload: '{"title":"Parable of the Sower","author":"Octavia E. Butler"}\n{"title":""}\n' })
  t.equal(bulk.statusCode, 200)
  t.equal((await send({ method: 'POST', url: '/book/_bulk', headers: JSON_TYPE, payload: '{}' })).statusCode, 415)
  t.equal((await send({ method: 'POST', url: '/book/_bulk', headers: { ...NDJSON, 'content-length': String(2 * 1024 * 1024 * 1024) }, payload: '' })).statusCode, 413)

  // The other models' routes, once each.
  const kindred = (await send({ method: 'POST', url: '/book', payload: { title: 'Dawn', author: 'Octavia E. Butler' } })).json()
  const bookId = String(kindred.entity_id)
  await send({ method: 'GET', url: `/book/${bookId}` })
  const rated = (await send({ method: 'PATCH', url: `/book/${bookId}`, headers: { ...MERGE, 'if-match': etag(kindred.version) }, payload: JSON.stringify({ rating: 4 }) })).json()
  const renamed = (await send({ method: 'PUT', url: `/book/${bookId}`, headers: { 'if-match': etag(rated.version) }, payload: { title: 'Dawn (Xenogenesis 1)', author: 'Octavia E. Butler' } })).json()
  await send({ method: 'GET', url: '/book/count' })
  await send({ method: 'GET', url: `/book/${bookId}/versions` })
  await send({ method: 'GET', url: `/book/${bookId}/integrity` })
  await send({ method: 'GET', url: `/book/${bookId}/versions/${String(kindred.version)}` })
  await send({ method: 'GET', url: `/book/${bookId}/versions/${String(kindred.version)}/diff` })
  const back = (await send({ method: 'POST', url: `/book/${bookId}/versions/${String(kindred.version)}/restore`, payload: { version: renamed.version } })).json()
  await send({ method: 'DELETE', url: `/book/${bookId}`, headers: { 'if-match': etag(back.version) } })
  await send({ method: 'GET', url: '/note' })
  await send({ method: 'GET', url: '/note/count' })
  await send({ method: 'POST', url: '/person/_bulk', headers: NDJSON, payload: '{"first_name":"Mary","last_name":"Shelley"}\n' })
  await send({ method: 'POST', url: '/note/_bulk', headers: NDJSON, payload: '{"text":"bulk"}\n' })

  t.same(violations, [], 'no answer departs from the document')
  // Every documented operation was called; each kind of operation answered both a success and an error.
  const kinds = new Map<string, Set<string>>()
  for (const operation of contract.operations()) {
    const statuses = [...contract.seen.get(operation) ?? []]
    t.ok(statuses.length > 0, `${operation} was called`)
    const kind = operation.replace(/ \/(person|book|note)\b/, ' /{model}')
    kinds.set(kind, new Set([...kinds.get(kind) ?? [], ...statuses]))
  }
  for (const [kind, statuses] of kinds) {
    t.ok([...statuses].some((s) => s.startsWith('2')), `${kind}: a success (${[...statuses].join(', ')})`)
    if (!kind.startsWith('GET /health') && kind !== 'GET /_models') t.ok([...statuses].some((s) => s.startsWith('4')), `${kind}: an error (${[...statuses].join(', ')})`)
  }
})

t.test('with API keys, scopes and a rate limit: 401, 403 and 429 as the served document declares them', async (t) => {
  const KEY = 'k-contract-0123456789'
  const { app } = await setup(t, { config: { AUTH_MODE: 'api-key', AUTH_API_KEYS: `reader:${hashApiKey(KEY)}:person:read`, AUTH_SCOPES: true, RATE_LIMIT_MAX: 4 } })
  const { contract, send, violations } = await session(app)
  t.same(contract.doc.security, [{ bearerAuth: [] }, { apiKeyAuth: [] }], 'the schemes AUTH_MODE=api-key takes')
  t.equal((await send({ method: 'GET', url: '/person' })).statusCode, 401)
  t.equal((await send({ method: 'GET', url: '/person', headers: { 'x-api-key': 'wrong' } })).statusCode, 401)
  t.equal((await send({ method: 'GET', url: '/book', headers: { authorization: `Bearer ${KEY}` } })).statusCode, 403)
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) statuses.push((await send({ method: 'GET', url: '/person', headers: { 'x-api-key': KEY } })).statusCode)
  t.same(statuses, [200, 200, 200, 200, 429], 'four requests in the window, then 429')
  await send({ method: 'GET', url: '/health/live' })
  t.same(violations, [], 'no answer departs from the document')
})

t.test('a request that does not arrive in time: the 408 is what the document declares', async (t) => {
  const { app } = await setup(t, { config: { HEADERS_TIMEOUT_MS: 1000 } })
  const { contract } = await session(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  // Headers begun and never finished: Node's headers timeout answers on the raw socket.
  const text = await new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write('GET /person HTTP/1.1\r\nHost: x\r\n') })
    let answer = ''
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString() })
    socket.on('close', () => { resolve(answer) })
  })
  const [head = '', body = ''] = text.split('\r\n\r\n')
  const [status = '', ...lines] = head.split('\r\n')
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  const statusCode = Number(status.split(' ')[1])
  t.equal(statusCode, 408)
  t.same(contract.check('GET', '/person', { statusCode, headers, body }), [], 'declared, with a valid problem')
})
