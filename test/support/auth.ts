import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { LightMyRequestResponse } from 'fastify'
import { SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import type { Test } from 'tap'
import { assertProblem } from '../routes/support.js'

export const SECRET = 'a-shared-test-secret-of-at-least-32-chars'
export const ISSUER = 'https://issuer.test/'
export const AUDIENCE = 'verso-api'
export const now = (): number => Math.floor(Date.now() / 1000)

export interface TokenOptions {
  alg?: string
  kid?: string
  /** Claims to add or, when undefined, to leave out (exp, iss, aud, sub). */
  claims?: Record<string, unknown>
}

/** A signed JWT: by default sub `alice`, the test issuer and audience, valid for 5 minutes. */
export async function token (key: Uint8Array | CryptoKey, options: TokenOptions = {}): Promise<string> {
  const claims: Record<string, unknown> = { sub: 'alice', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300, ...options.claims }
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name]
  return await new SignJWT(claims as JWTPayload)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', ...(options.kid === undefined ? {} : { kid: options.kid }) })
    .sign(key)
}

export const secretKey = (secret = SECRET): Uint8Array => new TextEncoder().encode(secret)
export const bearer = (value: string): Record<string, string> => ({ authorization: `Bearer ${value}` })

/** A token with `alg: none` and no signature, which no verifier may accept. */
export function unsignedToken (claims: Record<string, unknown> = {}): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'mallory', iss: ISSUER, aud: AUDIENCE, exp: now() + 300, ...claims })}.`
}

/**
 * A 401 as a client sees it: problem+json with the code, and an RFC 6750 challenge. `error` is the expected
 * error code of the challenge, or null when no credentials were sent (RFC 6750 §3.1: no error then).
 */
export function assertUnauthorized (t: Test, res: LightMyRequestResponse, error: 'invalid_token' | null, detail?: RegExp): Record<string, any> {
  const body = assertProblem(t, res, 401, { code: error === null ? 'VERSO_AUTHENTICATION_REQUIRED' : 'VERSO_INVALID_CREDENTIALS' })
  const header = String(res.headers['www-authenticate'] ?? '')
  t.match(header, /^Bearer realm="verso"/, 'WWW-Authenticate is a Bearer challenge')
  if (error === null) t.notMatch(header, /error=/, 'no error code when no credentials were sent')
  else t.match(header, `error="${error}", error_description="`, `error="${error}"`)
  if (detail !== undefined) t.match(body.detail, detail)
  return body
}

export function assertForbidden (t: Test, res: LightMyRequestResponse, scope: string): void {
  const body = assertProblem(t, res, 403, { code: 'VERSO_INSUFFICIENT_SCOPE' })
  t.equal(body.required_scope, scope, `names the scope ${scope}`)
  t.match(String(res.headers['www-authenticate']), 'error="insufficient_scope"')
  t.match(String(res.headers['www-authenticate']), `scope="${scope}"`)
}

/** A JWKS served from 127.0.0.1 on a free port; counts how often it is fetched. */
export async function serveJwks (t: Test, keys: JWK[]): Promise<{ url: string, fetches: () => number }> {
  let fetches = 0
  const server = createServer((req, res) => {
    fetches++
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, fetches: () => fetches }
}

export const PERSON = { first_name: 'Ada', last_name: 'Lovelace' }
