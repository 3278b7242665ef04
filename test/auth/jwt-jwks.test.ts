import t from 'tap'
import { exportJWK, generateKeyPair } from 'jose'
import { Person } from '../../src/models/person.js'
import { json, setup } from '../support/helper.js'
import { assertProblem } from '../routes/support.js'
import { assertUnauthorized, AUDIENCE, bearer, ISSUER, PERSON, secretKey, serveJwks, token, unsignedToken } from '../support/auth.js'

t.test('AUTH_MODE=jwt with a JWKS URL: RS256 and ES256 keys from the issuer', async (t) => {
  const rsa = await generateKeyPair('RS256', { extractable: true })
  const ec = await generateKeyPair('ES256', { extractable: true })
  const jwks = await serveJwks(t, [
    { ...await exportJWK(rsa.publicKey), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...await exportJWK(ec.publicKey), kid: 'ec-1', alg: 'ES256', use: 'sig' }
  ])
  const ctx = await setup(t, { config: { AUTH_MODE: 'jwt', AUTH_JWKS_URL: jwks.url, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: `other-api, ${AUDIENCE}` } })
  const { app } = ctx
  const post = async (headers: Record<string, string>): Promise<Awaited<ReturnType<typeof app.inject>>> =>
    await app.inject({ method: 'POST', url: '/person', headers, payload: PERSON })

  t.test('RS256 and ES256 tokens are accepted; the subject is the writer', async (t) => {
    const rs = await post(bearer(await token(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1', claims: { sub: '5b1f6c0e-0c3a-4b8e-9f2d-7a6b3c4d5e6f' } })))
    t.equal(rs.statusCode, 201)
    t.equal(json(rs).changed_by_id, '5b1f6c0e0c3a4b8e9f2d7a6b3c4d5e6f', 'UUID subject as 32 hex')
    const es = await post(bearer(await token(ec.privateKey, { alg: 'ES256', kid: 'ec-1', claims: { sub: 'service:billing' } })))
    t.equal(es.statusCode, 201)
    t.equal(json(es).changed_by_id, 'service:billing', 'other subjects as given')
    const rows = await ctx.scan(ctx.tables(Person).main)
    t.same(rows.map((r) => r.changed_by_id).sort(), ['5b1f6c0e0c3a4b8e9f2d7a6b3c4d5e6f', 'service:billing'], 'stored versions')
    t.equal((await ctx.events(String(json(es).entity_id)))[0]?.data.changed_by_id, 'service:billing', 'outbox event')
    t.equal((await post(bearer(await token(ec.privateKey, { alg: 'ES256' })))).statusCode, 201, 'no kid: the key set is searched by algorithm')
  })

  t.test('wrong algorithms are refused: HS256 (even keyed with the public key), none, PS256', async (t) => {
    assertUnauthorized(t, await post(bearer(await token(secretKey('a-secret-an-attacker-chose-32-chars-long')))), 'invalid_token', /algorithm/)
    const publicJwk = JSON.stringify(await exportJWK(rsa.publicKey))
    assertUnauthorized(t, await post(bearer(await token(secretKey(publicJwk), { kid: 'rsa-1' }))), 'invalid_token', /algorithm/)
    assertUnauthorized(t, await post(bearer(unsignedToken())), 'invalid_token')
    const ps = await generateKeyPair('PS256')
    assertUnauthorized(t, await post(bearer(await token(ps.privateKey, { alg: 'PS256', kid: 'rsa-1' }))), 'invalid_token', /algorithm/)
  })

  t.test('a key not in the set, or a signature by another key under a known kid', async (t) => {
    const stranger = await generateKeyPair('RS256')
    assertUnauthorized(t, await post(bearer(await token(stranger.privateKey, { alg: 'RS256', kid: 'rsa-2' }))), 'invalid_token', /No key/)
    assertUnauthorized(t, await post(bearer(await token(stranger.privateKey, { alg: 'RS256', kid: 'rsa-1' }))), 'invalid_token', /signature/)
    const otherEc = await generateKeyPair('ES256')
    assertUnauthorized(t, await post(bearer(await token(otherEc.privateKey, { alg: 'ES256', kid: 'ec-1' }))), 'invalid_token', /signature/)
  })

  t.test('issuer, audience and expiry are checked as with a secret', async (t) => {
    const sign = async (claims: Record<string, unknown>): Promise<string> => await token(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1', claims })
    assertUnauthorized(t, await post(bearer(await sign({ iss: 'https://evil.test/' }))), 'invalid_token', /issuer/)
    assertUnauthorized(t, await post(bearer(await sign({ aud: 'third-api' }))), 'invalid_token', /audience/)
    t.equal((await post(bearer(await sign({ aud: 'other-api' })))).statusCode, 201, 'any audience of AUTH_JWT_AUDIENCE\'s list')
    assertUnauthorized(t, await post(bearer(await sign({ exp: Math.floor(Date.now() / 1000) - 3600 }))), 'invalid_token', /expired/)
  })

  t.test('the key set is cached: fetched once for all of the above (plus one refetch per unknown kid at most)', async (t) => {
    t.ok(jwks.fetches() <= 2, `fetched ${jwks.fetches()} times`)
  })
})

t.test('an unreachable JWKS is 503, not 401: the caller did nothing wrong', async (t) => {
  const jwks = await serveJwks(t, [])
  const url = jwks.url.replace('/.well-known/jwks.json', '/missing')
  const { app } = await setup(t, { config: { AUTH_MODE: 'jwt', AUTH_JWKS_URL: url } })
  const { privateKey } = await generateKeyPair('RS256')
  const res = await app.inject({ method: 'GET', url: '/person', headers: bearer(await token(privateKey, { alg: 'RS256', kid: 'k' })) })
  assertProblem(t, res, 503, { code: 'VERSO_AUTH_UNAVAILABLE' })
  t.equal(res.headers['retry-after'], '1')
  t.equal(res.headers['www-authenticate'], undefined)
  assertUnauthorized(t, await app.inject({ method: 'GET', url: '/person' }), null)
})
