import t from 'tap'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { authSettings } from '../../src/auth/settings.js'
import { ConfigError, loadConfig } from '../../src/config/config.js'
import { thrown } from '../support/thrown.js'

const SECRET = 'x'.repeat(32)
const HASH = hashApiKey('a-key')

t.test('the auth defaults: none in the embedded mode, scopes off, 30 s of clock skew', async (t) => {
  const config = loadConfig({})
  t.equal(config.AUTH_MODE, 'none')
  t.equal(config.AUTH_SCOPES, false)
  t.equal(config.AUTH_CLOCK_SKEW_S, 30)
  t.same(authSettings(config), { mode: 'none' })
})

t.test('jwt: a secret or a JWKS URL, issuer, audience list and clock skew', async (t) => {
  const secret = authSettings(loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }))
  t.match(secret, { mode: 'jwt', scopes: false, clockSkewS: 30 })
  t.ok(secret.mode === 'jwt' && 'secret' in secret.key)
  const jwks = authSettings(loadConfig({
    AUTH_MODE: 'jwt',
    AUTH_JWKS_URL: 'https://issuer.example/.well-known/jwks.json',
    AUTH_JWT_ISSUER: 'https://issuer.example/',
    AUTH_JWT_AUDIENCE: 'verso, verso-admin',
    AUTH_CLOCK_SKEW_S: '120',
    AUTH_SCOPES: 'true'
  }))
  t.match(jwks, { mode: 'jwt', scopes: true, issuer: 'https://issuer.example/', audience: ['verso', 'verso-admin'], clockSkewS: 120 })
  t.ok(jwks.mode === 'jwt' && 'jwksUrl' in jwks.key && jwks.key.jwksUrl.href === 'https://issuer.example/.well-known/jwks.json')
})

t.test('api-key: id:sha256hex[:scope scope…] entries', async (t) => {
  const settings = authSettings(loadConfig({ AUTH_MODE: 'api-key', AUTH_API_KEYS: ` billing:${HASH}:person:read book:write , ops:${hashApiKey('b').toUpperCase()}:*:write,plain:${hashApiKey('c')}` }))
  t.ok(settings.mode === 'api-key')
  if (settings.mode !== 'api-key') return
  t.same(settings.keys.map((k) => [k.id, [...k.scopes]]), [['billing', ['person:read', 'book:write']], ['ops', ['*:write']], ['plain', []]])
  t.equal(settings.keys[0]?.sha256.toString('hex'), HASH)
  t.equal(settings.keys[1]?.sha256.toString('hex'), hashApiKey('b'), 'upper-case hex is read too')
})

t.test('bad auth settings name their variable, in one line, without echoing secrets', async (t) => {
  const bad: Array<[Record<string, string>, string, RegExp?]> = [
    [{ AUTH_MODE: 'jwt' }, 'AUTH_JWT_SECRET', /AUTH_JWKS_URL/],
    [{ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'too-short-secret' }, 'AUTH_JWT_SECRET'],
    [{ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://i.example/jwks' }, 'AUTH_JWKS_URL', /both/],
    [{ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'ftp://i.example/jwks' }, 'AUTH_JWKS_URL'],
    [{ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'not a url' }, 'AUTH_JWKS_URL'],
    [{ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_SKEW_S: '301' }, 'AUTH_CLOCK_SKEW_S'],
    [{ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_SKEW_S: '-1' }, 'AUTH_CLOCK_SKEW_S'],
    [{ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWT_AUDIENCE: ' , ' }, 'AUTH_JWT_AUDIENCE'],
    [{ AUTH_MODE: 'api-key' }, 'AUTH_API_KEYS', /must be set/],
    [{ AUTH_MODE: 'api-key', AUTH_API_KEYS: ',' }, 'AUTH_API_KEYS', /no key/],
    [{ AUTH_MODE: 'api-key', AUTH_API_KEYS: 'billing:the-key-itself' }, 'AUTH_API_KEYS', /SHA-256/],
    [{ AUTH_MODE: 'api-key', AUTH_API_KEYS: `billing:${HASH.slice(1)}` }, 'AUTH_API_KEYS', /entry 1 \(billing\)/],
    [{ AUTH_MODE: 'api-key', AUTH_API_KEYS: `bad id:${HASH}` }, 'AUTH_API_KEYS', /id/],
    [{ AUTH_MODE: 'api-key', AUTH_API_KEYS: `:${HASH}` }, 'AUTH_API_KEYS', /id/],
    [{ AUTH_MODE: 'api-key', AUTH_API_KEYS: `a:${HASH}:person:delete` }, 'AUTH_API_KEYS', /scope "person:delete"/],
    [{ AUTH_MODE: 'api-key', AUTH_API_KEYS: `a:${HASH}:person` }, 'AUTH_API_KEYS', /scope/],
    [{ AUTH_MODE: 'api-key', AUTH_API_KEYS: `a:${HASH},a:${hashApiKey('b')}` }, 'AUTH_API_KEYS', /entry 2: the id a is used twice/],
    [{ AUTH_MODE: 'api-key', AUTH_API_KEYS: `a:${HASH},b:${HASH}` }, 'AUTH_API_KEYS', /twice/],
    [{ AUTH_SCOPES: 'true' }, 'AUTH_SCOPES', /AUTH_MODE/],
    [{ AUTH_MODE: 'none', AUTH_SCOPES: 'yes' }, 'AUTH_SCOPES']
  ]
  for (const [env, variable, message] of bad) {
    const err = thrown(() => loadConfig(env))
    t.ok(err instanceof ConfigError, `${JSON.stringify(env)} is refused`)
    t.equal(err?.variable, variable, `${JSON.stringify(env)} names ${variable}`)
    t.notMatch(String(err?.message), /\n/, 'one line')
    if (message !== undefined) t.match(String(err?.message), message)
  }
  t.notMatch(String(thrown(() => loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'too-short-secret' }))?.message), 'too-short-secret', 'the secret is not echoed')
  t.notMatch(String(thrown(() => loadConfig({ AUTH_MODE: 'api-key', AUTH_API_KEYS: 'billing:the-key-itself' }))?.message), 'the-key-itself', 'nor a key')
})

t.test('AUTH_MODE is still required outside the embedded mode, and jwt / api-key are accepted there', async (t) => {
  const remote = { DYNAMODB_ENDPOINT: 'http://localhost:8000', RELAY_ENABLED: 'false' }
  t.match(thrown(() => loadConfig(remote)), { variable: 'AUTH_MODE' })
  t.equal(loadConfig({ ...remote, AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }).AUTH_MODE, 'jwt')
  t.equal(loadConfig({ ...remote, AUTH_MODE: 'api-key', AUTH_API_KEYS: `a:${HASH}` }).AUTH_MODE, 'api-key')
})
