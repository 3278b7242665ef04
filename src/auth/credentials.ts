import type { FastifyRequest } from 'fastify'

/** What a request presents: nothing, something unreadable, or one credential (a token or an API key). */
export type Presented =
  | { kind: 'none' }
  | { kind: 'malformed', reason: string }
  | { kind: 'credential', value: string }

/** Longer than any JWT or key verso issues or accepts; refused before any parsing or hashing. */
export const MAX_CREDENTIAL_LENGTH = 8192
// RFC 6750 b64token.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const VISIBLE_ASCII = /^[\x21-\x7e]+$/

/** `Authorization: Bearer <token>`. Another scheme (Basic, …) counts as no bearer credentials at all. */
function bearer (header: string | undefined): Presented {
  if (header === undefined || header.trim() === '') return { kind: 'none' }
  const [scheme = '', ...rest] = header.trim().split(/ +/)
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'none' }
  if (rest.length !== 1) return { kind: 'malformed', reason: 'The Authorization header must be "Bearer <token>".' }
  const token = rest[0] ?? ''
  if (token.length > MAX_CREDENTIAL_LENGTH) return { kind: 'malformed', reason: 'The bearer token is too long.' }
  if (!B64TOKEN.test(token)) return { kind: 'malformed', reason: 'The bearer token has characters a token cannot have.' }
  return { kind: 'credential', value: token }
}

export const bearerToken = (request: FastifyRequest): Presented => bearer(request.headers.authorization)

/** An API key, as `Authorization: Bearer <key>` or `X-API-Key: <key>` (one of them). */
export function apiKey (request: FastifyRequest): Presented {
  const fromAuthorization = bearer(request.headers.authorization)
  const header = request.headers['x-api-key']
  if (header === undefined) return fromAuthorization
  if (fromAuthorization.kind !== 'none') return { kind: 'malformed', reason: 'Send the API key in Authorization or in X-API-Key, not in both.' }
  const key = Array.isArray(header) ? undefined : header.trim()
  if (key === undefined) return { kind: 'malformed', reason: 'Send one X-API-Key header.' }
  if (key === '') return { kind: 'none' }
  if (key.length > MAX_CREDENTIAL_LENGTH) return { kind: 'malformed', reason: 'The API key is too long.' }
  if (!VISIBLE_ASCII.test(key)) return { kind: 'malformed', reason: 'The API key has characters a key cannot have.' }
  return { kind: 'credential', value: key }
}
