import type { AuthSettings } from './settings.js'

/**
 * What the OpenAPI document says about authentication. The document served at /openapi.json describes the
 * running configuration (documentedAuth); the committed one describes production (PRODUCTION_AUTH), where
 * AUTH_MODE is jwt or api-key and no default picks between them.
 */
export interface DocumentedAuth {
  /** The modes described; empty for AUTH_MODE=none (no security requirement, no 401). */
  modes: ReadonlyArray<'jwt' | 'api-key'>
  /** AUTH_SCOPES=true: 403 on every secured operation. */
  scopes: boolean
}

export const documentedAuth = (settings: AuthSettings): DocumentedAuth =>
  settings.mode === 'none' ? { modes: [], scopes: false } : { modes: [settings.mode], scopes: settings.scopes }

/** Production: authentication on, in either mode; scopes off as AUTH_SCOPES defaults. */
export const PRODUCTION_AUTH: DocumentedAuth = { modes: ['jwt', 'api-key'], scopes: false }

const BEARER = {
  jwt: 'AUTH_MODE=jwt: a JWT (HS256, or RS256/ES256 from the configured JWKS) whose `sub` becomes `changed_by_id`.',
  'api-key': 'AUTH_MODE=api-key: an API key, whose configured id becomes `changed_by_id`.'
}

/** The security schemes and the document-wide requirement (any one scheme satisfies it); none without auth. */
export function securityOf (auth: DocumentedAuth): { schemes: Record<string, unknown>, security: Array<Record<string, string[]>> } {
  if (auth.modes.length === 0) return { schemes: {}, security: [] }
  const schemes: Record<string, unknown> = {
    bearerAuth: {
      type: 'http',
      scheme: 'bearer',
      ...(auth.modes.includes('api-key') ? {} : { bearerFormat: 'JWT' }),
      description: auth.modes.map((m) => BEARER[m]).join(' ')
    }
  }
  if (auth.modes.includes('api-key')) {
    schemes.apiKeyAuth = { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'AUTH_MODE=api-key: the API key, as an alternative to `Authorization: Bearer <key>`.' }
  }
  return { schemes, security: Object.keys(schemes).map((name) => ({ [name]: [] })) }
}
