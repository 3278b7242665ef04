import t from 'tap'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { json, setup } from '../support/helper.js'
import { assertForbidden, bearer, PERSON, SECRET, secretKey, token } from '../support/auth.js'

const BOOK = { title: 'Dune', author: 'Frank Herbert' }

t.test('AUTH_SCOPES=true with JWT scopes (scope string or scp array)', async (t) => {
  const { app } = await setup(t, { config: { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_SCOPES: true } })
  const as = async (claims: Record<string, unknown>): Promise<Record<string, string>> => bearer(await token(secretKey(), { claims }))

  const writer = await as({ scope: 'person:write openid' })
  const created = await app.inject({ method: 'POST', url: '/person', headers: writer, payload: PERSON })
  t.equal(created.statusCode, 201, 'person:write may create')
  const { entity_id: id, version } = json(created)
  t.equal((await app.inject({ method: 'GET', url: `/person/${String(id)}`, headers: writer })).statusCode, 200, 'write implies read')

  const reader = await as({ scp: ['person:read'] })
  t.equal((await app.inject({ method: 'GET', url: `/person/${String(id)}`, headers: reader })).statusCode, 200, 'person:read may read')
  t.equal((await app.inject({ method: 'GET', url: `/person/${String(id)}/versions`, headers: reader })).statusCode, 200, 'and the history')
  t.equal((await app.inject({ method: 'HEAD', url: `/person/${String(id)}`, headers: reader })).statusCode, 200, 'HEAD is a read')
  assertForbidden(t, await app.inject({ method: 'POST', url: '/person', headers: reader, payload: PERSON }), 'person:write')
  assertForbidden(t, await app.inject({ method: 'DELETE', url: `/person/${String(id)}`, headers: { ...reader, 'if-match': `"${String(version)}"` } }), 'person:write')
  assertForbidden(t, await app.inject({ method: 'POST', url: `/person/${String(id)}/versions/${String(version)}/restore`, headers: reader }), 'person:write')
  assertForbidden(t, await app.inject({ method: 'GET', url: '/book', headers: reader }), 'book:read')

  const nothing = await as({})
  assertForbidden(t, await app.inject({ method: 'GET', url: '/person', headers: nothing }), 'person:read')
  t.equal((await app.inject({ method: 'GET', url: '/health/live', headers: nothing })).statusCode, 200, 'open routes need no scope')

  const allReader = await as({ scp: 'book:write *:read' })
  t.equal((await app.inject({ method: 'GET', url: '/person', headers: allReader })).statusCode, 200, '*:read reads every model')
  t.equal((await app.inject({ method: 'POST', url: '/book', headers: allReader, payload: BOOK })).statusCode, 201, 'book:write writes books')
  assertForbidden(t, await app.inject({ method: 'POST', url: '/person', headers: allReader, payload: PERSON }), 'person:write')

  const admin = await as({ scope: '*:write' })
  t.equal((await app.inject({ method: 'POST', url: '/book', headers: admin, payload: BOOK })).statusCode, 201, '*:write writes every model')
  t.equal((await app.inject({ method: 'GET', url: '/book', headers: admin })).statusCode, 200, 'and reads it')
  const forbidden = await app.inject({ method: 'POST', url: '/person', headers: { ...reader, 'content-type': 'application/json' }, payload: '{broken' })
  t.equal(forbidden.statusCode, 403, 'the scope is checked before the body is parsed')
})

t.test('AUTH_SCOPES=true with API key scopes from AUTH_API_KEYS', async (t) => {
  const keys = [
    `catalog:${hashApiKey('key-catalog')}:book:write person:read`,
    `auditor:${hashApiKey('key-auditor')}:*:read`,
    `nobody:${hashApiKey('key-nobody')}`
  ].join(',')
  const { app } = await setup(t, { config: { AUTH_MODE: 'api-key', AUTH_API_KEYS: keys, AUTH_SCOPES: true } })
  const key = (k: string): Record<string, string> => ({ 'x-api-key': k })
  t.equal((await app.inject({ method: 'POST', url: '/book', headers: key('key-catalog'), payload: BOOK })).statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: '/person', headers: key('key-catalog') })).statusCode, 200)
  assertForbidden(t, await app.inject({ method: 'POST', url: '/person', headers: key('key-catalog'), payload: PERSON }), 'person:write')
  t.equal((await app.inject({ method: 'GET', url: '/book', headers: key('key-auditor') })).statusCode, 200)
  assertForbidden(t, await app.inject({ method: 'POST', url: '/book', headers: key('key-auditor'), payload: BOOK }), 'book:write')
  assertForbidden(t, await app.inject({ method: 'GET', url: '/book', headers: key('key-nobody') }), 'book:read')
})

t.test('AUTH_SCOPES=false (the default): scopes are not checked', async (t) => {
  const { app } = await setup(t, { config: { AUTH_MODE: 'api-key', AUTH_API_KEYS: `plain:${hashApiKey('key-plain')}:book:read` } })
  t.equal((await app.inject({ method: 'POST', url: '/person', headers: { 'x-api-key': 'key-plain' }, payload: PERSON })).statusCode, 201)
})
