/**
 * Security schemes of the OpenAPI document. Both are always declared (the document does not depend on
 * AUTH_MODE): a bearer token is a JWT with AUTH_MODE=jwt and an API key with AUTH_MODE=api-key.
 */
export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description: 'AUTH_MODE=jwt: a JWT (HS256, or RS256/ES256 from the configured JWKS) whose `sub` becomes `changed_by_id`. AUTH_MODE=api-key: an API key, whose configured id becomes `changed_by_id`.'
  },
  apiKeyAuth: {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'AUTH_MODE=api-key: the API key, as an alternative to `Authorization: Bearer <key>`.'
  }
} as const

/** Either scheme satisfies an operation. Open routes (health, docs) override it with `security: []`. */
export const SECURITY: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { apiKeyAuth: [] }]
