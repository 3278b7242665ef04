import t from 'tap'
import { generateKeyPair } from 'jose'
import { Person } from '../../src/models/person.js'
import { json, setup } from '../support/helper.js'
import { assertUnauthorized, AUDIENCE, bearer, ISSUER, now, PERSON, SECRET, secretKey, token, unsignedToken } from '../support/auth.js'

const JWT = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE } as const

t.test('AUTH_MODE=jwt with an HS256 secret', async (t) => {
  const ctx = await setup(t, { config: JWT })
  const { app } = ctx
  const post = async (headers: Record<string, string>, payload: unknown = PERSON): Promise<Awaited<ReturnType<typeof app.inject>>> =>
    await app.inject({ method: 'POST', url: '/person', headers, payload: payload as Record<string, unknown> })
  const key = secretKey()

  t.test('no credentials: 401 with a bare challenge, before the body is parsed or DynamoDB is called', async (t) => {
    assertUnauthorized(t, await post({}), null, /Authorization: Bearer <token>/)
    assertUnauthorized(t, await post({ authorization: 'Basic YWxpY2U6c2VjcmV0' }), null)
    assertUnauthorized(t, await app.inject({ method: 'POST', url: '/person', headers: { 'content-type': 'application/json' }, payload: '{not json' }), null)
    assertUnauthorized(t, await app.inject({ method: 'GET', url: '/person' }), null)
    assertUnauthorized(t, await app.inject({ method: 'GET', url: '/no-such-route' }), null, undefined)
    t.same(await ctx.scan(ctx.tables(Person).main), [], 'nothing was written')
  })

  t.test('malformed Authorization headers', async (t) => {
    for (const header of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer abc$def', 'Bearer not-a-jwt', 'Bearer a.b.c', `Bearer ${'a'.repeat(9000)}`]) {
      const res = await post({ authorization: header })
      assertUnauthorized(t, res, 'invalid_token')
      const given = header.slice(7, 47)
      if (given.length > 4) t.notOk(res.body.includes(given) || String(res.headers['www-authenticate']).includes(given), 'the token is not echoed')
    }
  })

  t.test('expiry and not-before, with the default 30 s of clock skew', async (t) => {
    assertUnauthorized(t, await post(bearer(await token(key, { claims: { exp: now() - 60 } }))), 'invalid_token', /expired/)
    t.equal((await post(bearer(await token(key, { claims: { exp: now() - 10 } })))).statusCode, 201, 'expired 10 s ago: within the skew')
    assertUnauthorized(t, await post(bearer(await token(key, { claims: { nbf: now() + 120 } }))), 'invalid_token', /not valid yet/)
    t.equal((await post(bearer(await token(key, { claims: { nbf: now() + 10 } })))).statusCode, 201, 'valid in 10 s: within the skew')
    assertUnauthorized(t, await post(bearer(await token(key, { claims: { exp: undefined } }))), 'invalid_token', /no expiry/)
  })

  t.test('signature and algorithm', async (t) => {
    assertUnauthorized(t, await post(bearer(await token(secretKey('another-secret-that-is-32-chars-long!!')))), 'invalid_token', /signature/)
    assertUnauthorized(t, await post(bearer(unsignedToken())), 'invalid_token')
    assertUnauthorized(t, await post(bearer(await token(key, { alg: 'HS512' }))), 'invalid_token', /algorithm/)
    const { privateKey } = await generateKeyPair('RS256')
    assertUnauthorized(t, await post(bearer(await token(privateKey, { alg: 'RS256' }))), 'invalid_token', /algorithm/)
    const valid = await token(key)
    const [header, payload] = valid.split('.')
    const tampered = `${String(header)}.${Buffer.from(JSON.stringify({ sub: 'root', iss: ISSUER, aud: AUDIENCE, exp: now() + 300 })).toString('base64url')}.${String(valid.split('.')[2])}`
    assertUnauthorized(t, await post(bearer(tampered)), 'invalid_token', /signature/)
    t.ok(payload, 'the tampered token kept the original signature')
  })

  t.test('issuer and audience', async (t) => {
    assertUnauthorized(t, await post(bearer(await token(key, { claims: { iss: 'https://evil.test/' } }))), 'invalid_token', /issuer/)
    assertUnauthorized(t, await post(bearer(await token(key, { claims: { iss: undefined } }))), 'invalid_token', /issuer/)
    assertUnauthorized(t, await post(bearer(await token(key, { claims: { aud: 'another-api' } }))), 'invalid_token', /audience/)
    assertUnauthorized(t, await post(bearer(await token(key, { claims: { aud: undefined } }))), 'invalid_token', /audience/)
    t.equal((await post(bearer(await token(key, { claims: { aud: ['another-api', AUDIENCE] } })))).statusCode, 201, 'one of several audiences')
  })

  t.test('subjects', async (t) => {
    assertUnauthorized(t, await post(bearer(await token(key, { claims: { sub: undefined } }))), 'invalid_token', /no subject/)
    for (const sub of ['two words', 'x'.repeat(129), 'semi;colon', '']) {
      assertUnauthorized(t, await post(bearer(await token(key, { claims: { sub } }))), 'invalid_token', /subject/)
    }
  })

  t.test('a UUID subject becomes a 32-hex changed_by_id in the version, the main table and the event', async (t) => {
    const uuid = '3F2C9A4E-8D1B-4C7A-9E6F-0A1B2C3D4E5F'
    const res = await post(bearer(await token(key, { claims: { sub: uuid } })))
    t.equal(res.statusCode, 201)
    const body = json(res)
    t.equal(body.changed_by_id, '3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f')
    const stored = (await ctx.scan(ctx.tables(Person).main)).find((row) => row.entity_id === body.entity_id)
    t.equal(stored?.changed_by_id, '3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f', 'stored version')
    const [event] = await ctx.events(String(body.entity_id))
    t.equal(event?.data.changed_by_id, '3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f', 'outbox event')

    // Another caller (a non-UUID subject, kept as given) updates it: the new version is theirs, the audit copy stays the first caller's.
    const sub = 'auth0|svc-42@example.com'
    const patched = await app.inject({
      method: 'PATCH',
      url: `/person/${String(body.entity_id)}`,
      headers: { ...bearer(await token(key, { claims: { sub } })), 'if-match': `"${String(body.version)}"`, 'content-type': 'application/merge-patch+json' },
      payload: { age: 37 }
    })
    t.equal(patched.statusCode, 200)
    t.equal(json(patched).changed_by_id, sub)
    const current = (await ctx.scan(ctx.tables(Person).main)).find((row) => row.entity_id === body.entity_id)
    t.equal(current?.changed_by_id, sub, 'stored version of the update')
    const events = await ctx.events(String(body.entity_id))
    t.equal(events[1]?.data.changed_by_id, sub, 'event of the update')
    const audit = await ctx.audit(Person, String(body.entity_id))
    t.equal(audit[0]?.changed_by_id, '3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f', 'the audit copy keeps the replaced version\'s writer')
  })

  t.test('32-hex subjects are lowercased; dashless UUIDs stay 32 hex', async (t) => {
    const res = await post(bearer(await token(key, { claims: { sub: 'ABCDEF0123456789ABCDEF0123456789' } })))
    t.equal(json(res).changed_by_id, 'abcdef0123456789abcdef0123456789')
  })

  t.test('health, docs and the OpenAPI document stay open', async (t) => {
    t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
    t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)
    const docs = await app.inject({ method: 'GET', url: '/docs' })
    t.ok(docs.statusCode < 400, `/docs answers ${docs.statusCode}`)
    const page = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' })
    t.equal(page.statusCode, 200, '/docs/static/swagger-ui.css')
    const doc = await app.inject({ method: 'GET', url: '/openapi.json' })
    t.equal(doc.statusCode, 200)
    const openapi = json(doc)
    t.same(Object.keys(openapi.components.securitySchemes), ['bearerAuth'], 'only the scheme AUTH_MODE=jwt takes')
    t.same(openapi.security, [{ bearerAuth: [] }], 'a global security requirement')
    t.same(openapi.paths['/health/live'].get.security, [], 'health overrides it')
    t.same(openapi.paths['/health/ready'].get.security, [])
    t.equal(openapi.paths['/person'].post.security, undefined, 'entity routes use the global requirement')
    t.ok(openapi.paths['/person'].post.responses['401'], '401 documented')
    t.notOk(openapi.paths['/person/{id}'].get.responses['403'], 'no 403 without AUTH_SCOPES')
  })
})

t.test('AUTH_CLOCK_SKEW_S bounds the tolerance', async (t) => {
  const { app } = await setup(t, { config: { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_SKEW_S: 0 } })
  const key = secretKey()
  const expired = await token(key, { claims: { exp: now() - 5 } })
  assertUnauthorized(t, await app.inject({ method: 'GET', url: '/person', headers: bearer(expired) }), 'invalid_token', /expired/)
  t.equal((await app.inject({ method: 'GET', url: '/person', headers: bearer(await token(key, { claims: { iss: 'anyone', aud: 'anything' } })) })).statusCode, 200,
    'without AUTH_JWT_ISSUER / AUTH_JWT_AUDIENCE any issuer and audience are accepted')
})
