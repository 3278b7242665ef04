import type { Config } from '../config/schema.js'

/** The AUTH_* settings as loadConfig reads them (all optional for buildApp callers: mode none by default). */
export type AuthConfig = Partial<Pick<Config,
  'AUTH_MODE' | 'AUTH_JWT_SECRET' | 'AUTH_JWKS_URL' | 'AUTH_JWT_ISSUER' | 'AUTH_JWT_AUDIENCE' | 'AUTH_CLOCK_SKEW_S' |
  'AUTH_API_KEYS' | 'AUTH_SCOPES'>>

/** One configured API key: only the SHA-256 of the key is known to verso. */
export interface ApiKeyEntry {
  id: string
  sha256: Buffer
  scopes: ReadonlySet<string>
}

export type AuthSettings =
  | { mode: 'none' }
  | {
    mode: 'jwt'
    scopes: boolean
    /** HS256 with a shared secret, or RS256/ES256 with the keys of a JWKS URL: never both. */
    key: { secret: Uint8Array } | { jwksUrl: URL }
    issuer?: string
    audience?: string[]
    clockSkewS: number
  }
  | { mode: 'api-key', scopes: boolean, keys: readonly ApiKeyEntry[] }

/** A bad AUTH_* setting; loadConfig turns it into a ConfigError naming the variable. */
export class AuthConfigError extends Error {
  constructor (readonly variable: string, readonly reason: string) {
    super(`invalid configuration: ${variable} ${reason}`)
    this.name = 'AuthConfigError'
  }
}

export const DEFAULT_CLOCK_SKEW_S = 30
export const MAX_CLOCK_SKEW_S = 300
export const MIN_JWT_SECRET_LENGTH = 32
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/
const SHA256_HEX = /^[0-9a-fA-F]{64}$/
const SCOPE = /^(\*|[a-z][a-z0-9-]*):(read|write)$/

/** Checks the AUTH_* settings together and returns what the auth plugin needs. */
export function authSettings (config: AuthConfig): AuthSettings {
  const mode = config.AUTH_MODE ?? 'none'
  const scopes = config.AUTH_SCOPES ?? false
  if (mode === 'none') {
    if (scopes) throw new AuthConfigError('AUTH_SCOPES', 'needs AUTH_MODE=jwt or AUTH_MODE=api-key (with AUTH_MODE=none every caller may do everything)')
    return { mode }
  }
  if (mode === 'api-key') {
    if (config.AUTH_API_KEYS === undefined) throw new AuthConfigError('AUTH_API_KEYS', 'must be set when AUTH_MODE=api-key (a comma-separated list of id:sha256hex[:scope scope…])')
    return { mode, scopes, keys: parseApiKeys(config.AUTH_API_KEYS) }
  }
  const { AUTH_JWT_SECRET: secret, AUTH_JWKS_URL: jwksUrl } = config
  if (secret === undefined && jwksUrl === undefined) {
    throw new AuthConfigError('AUTH_JWT_SECRET', 'or AUTH_JWKS_URL must be set when AUTH_MODE=jwt (a shared HS256 secret, or the URL of the issuer\'s JWKS for RS256/ES256)')
  }
  if (secret !== undefined && jwksUrl !== undefined) {
    throw new AuthConfigError('AUTH_JWKS_URL', 'and AUTH_JWT_SECRET are both set: set one (HS256 tokens are never verified against a JWKS, nor RS256/ES256 tokens against a secret)')
  }
  if (secret !== undefined && secret.length < MIN_JWT_SECRET_LENGTH) {
    throw new AuthConfigError('AUTH_JWT_SECRET', `must be at least ${MIN_JWT_SECRET_LENGTH} characters`)
  }
  let key: { secret: Uint8Array } | { jwksUrl: URL }
  if (jwksUrl !== undefined) {
    let url: URL
    try {
      url = new URL(jwksUrl)
    } catch {
      throw new AuthConfigError('AUTH_JWKS_URL', 'is not a URL')
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AuthConfigError('AUTH_JWKS_URL', 'must be an http:// or https:// URL')
    key = { jwksUrl: url }
  } else {
    key = { secret: new TextEncoder().encode(secret) }
  }
  const clockSkewS = config.AUTH_CLOCK_SKEW_S ?? DEFAULT_CLOCK_SKEW_S
  if (!Number.isInteger(clockSkewS) || clockSkewS < 0 || clockSkewS > MAX_CLOCK_SKEW_S) {
    throw new AuthConfigError('AUTH_CLOCK_SKEW_S', `must be an integer from 0 to ${MAX_CLOCK_SKEW_S}`)
  }
  const audience = config.AUTH_JWT_AUDIENCE?.split(',').map((a) => a.trim()).filter((a) => a !== '')
  if (audience !== undefined && audience.length === 0) throw new AuthConfigError('AUTH_JWT_AUDIENCE', 'names no audience')
  return {
    mode,
    scopes,
    key,
    clockSkewS,
    ...(config.AUTH_JWT_ISSUER === undefined ? {} : { issuer: config.AUTH_JWT_ISSUER }),
    ...(audience === undefined ? {} : { audience })
  }
}

/**
 * AUTH_API_KEYS: `id:sha256hex[:scope scope…]` entries separated by commas, e.g.
 * `billing:9f86d0…:person:read book:write,ops:2c26b4…`. The key itself is never configured, only its SHA-256.
 */
export function parseApiKeys (text: string): ApiKeyEntry[] {
  const keys: ApiKeyEntry[] = []
  const entries = text.split(',').map((e) => e.trim()).filter((e) => e !== '')
  if (entries.length === 0) throw new AuthConfigError('AUTH_API_KEYS', 'names no key')
  for (const [index, entry] of entries.entries()) {
    const [id = '', hash = '', ...rest] = entry.split(':')
    const where = `entry ${index + 1}`
    if (!KEY_ID.test(id)) throw new AuthConfigError('AUTH_API_KEYS', `${where}: the id must be 1-64 letters, digits, ".", "_" or "-" (format id:sha256hex[:scope scope…])`)
    if (!SHA256_HEX.test(hash)) throw new AuthConfigError('AUTH_API_KEYS', `${where} (${id}): expected the key's SHA-256 as 64 hex digits after the id, never the key itself`)
    const scopes = rest.join(':').split(/\s+/).filter((s) => s !== '')
    const badScope = scopes.find((s) => !SCOPE.test(s))
    if (badScope !== undefined) throw new AuthConfigError('AUTH_API_KEYS', `${where} (${id}): scope ${JSON.stringify(badScope.slice(0, 80))} is not {model path}:read, {model path}:write, *:read or *:write`)
    if (keys.some((k) => k.id === id)) throw new AuthConfigError('AUTH_API_KEYS', `${where}: the id ${id} is used twice`)
    const sha256 = Buffer.from(hash.toLowerCase(), 'hex')
    if (keys.some((k) => k.sha256.equals(sha256))) throw new AuthConfigError('AUTH_API_KEYS', `${where} (${id}): the same key hash is configured twice`)
    keys.push({ id, sha256, scopes: new Set(scopes) })
  }
  return keys
}
