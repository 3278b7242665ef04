import t from 'tap'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { Person } from '../../src/models/person.js'
import { json, setup } from '../support/helper.js'
import { assertUnauthorized, bearer, PERSON } from '../support/auth.js'

const BILLING_KEY = 'vk_billing_0b5d6e8f1a2c3d4e5f60718293a4b5c6'
const OPS_KEY = 'vk_ops_9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49'

t.test('AUTH_MODE=api-key: hashed keys from the configuration, the key id as the writer', async (t) => {
  const keys = `billing:${hashApiKey(BILLING_KEY)}, 0f8fad5b-d9cb-469f-a165-70867728950e:${hashApiKey(OPS_KEY).toUpperCase()}`
  t.notMatch(keys, BILLING_KEY, 'the configuration holds no key')
  const ctx = await setup(t, { config: { AUTH_MODE: 'api-key', AUTH_API_KEYS: keys } })
  const { app } = ctx
  const post = async (headers: Record<string, string>): Promise<Awaited<ReturnType<typeof app.inject>>> =>
    await app.inject({ method: 'POST', url: '/person', headers, payload: PERSON })

  t.test('missing and malformed credentials', async (t) => {
    assertUnauthorized(t, await post({}), null, /X-API-Key/)
    assertUnauthorized(t, await post({ 'x-api-key': '' }), null)
    assertUnauthorized(t, await post({ authorization: 'Bearer' }), 'invalid_token')
    assertUnauthorized(t, await post({ 'x-api-key': 'has space' }), 'invalid_token')
    assertUnauthorized(t, await post({ ...bearer(BILLING_KEY), 'x-api-key': BILLING_KEY }), 'invalid_token', /not in both/)
  })

  t.test('an unknown key, the hash of a key, a near miss', async (t) => {
    for (const key of ['vk_unknown', hashApiKey(BILLING_KEY), BILLING_KEY.slice(0, -1), `${BILLING_KEY}x`, BILLING_KEY.toUpperCase()]) {
      const res = await post({ 'x-api-key': key })
      assertUnauthorized(t, res, 'invalid_token', /not known/)
      t.notOk(res.body.includes(key), 'the key is not echoed')
    }
    t.same(await ctx.scan(ctx.tables(Person).main), [], 'nothing was written')
  })

  t.test('X-API-Key and Authorization: Bearer are both accepted; the id is changed_by_id', async (t) => {
    const viaHeader = await post({ 'x-api-key': BILLING_KEY })
    t.equal(viaHeader.statusCode, 201)
    t.equal(json(viaHeader).changed_by_id, 'billing')
    const viaBearer = await post(bearer(OPS_KEY))
    t.equal(viaBearer.statusCode, 201)
    t.equal(json(viaBearer).changed_by_id, '0f8fad5bd9cb469fa16570867728950e', 'a UUID key id is written as 32 hex')
    const rows = await ctx.scan(ctx.tables(Person).main)
    t.same(rows.map((r) => r.changed_by_id).sort(), ['0f8fad5bd9cb469fa16570867728950e', 'billing'], 'stored versions')
    t.equal((await ctx.events(String(json(viaHeader).entity_id)))[0]?.data.changed_by_id, 'billing', 'outbox event')
    t.equal((await ctx.events(String(json(viaBearer).entity_id)))[0]?.data.changed_by_id, '0f8fad5bd9cb469fa16570867728950e', 'outbox event')
    t.equal((await app.inject({ method: 'GET', url: '/person', headers: { 'x-api-key': BILLING_KEY } })).statusCode, 200, 'reads too')
  })

  t.test('health, docs and the OpenAPI document stay open', async (t) => {
    t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
    t.ok((await app.inject({ method: 'GET', url: '/docs' })).statusCode < 400)
    t.equal((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 200)
  })
})

t.test('AUTH_MODE=none (the default of setup()): no credentials needed, the zero id writes', async (t) => {
  const { app } = await setup(t)
  const res = await app.inject({ method: 'POST', url: '/person', payload: PERSON, headers: { authorization: 'Bearer whatever' } })
  t.equal(res.statusCode, 201)
  t.equal(json(res).changed_by_id, '00000000000040008000000000000000')
})
