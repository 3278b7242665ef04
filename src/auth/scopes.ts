/**
 * Per-model scopes (AUTH_SCOPES=true): `{path}:read` / `{path}:write`, or `*:read` / `*:write` for every model.
 * A write scope implies the read scope: every write answers with the entity and needs its current version.
 */
export type Access = 'read' | 'write'

export const accessOf = (method: string): Access => method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'read' : 'write'

export const requiredScope = (modelPath: string, access: Access): string => `${modelPath}:${access}`

export function hasScope (granted: ReadonlySet<string>, modelPath: string, access: Access): boolean {
  if (granted.has(`${modelPath}:write`) || granted.has('*:write')) return true
  return access === 'read' && (granted.has(`${modelPath}:read`) || granted.has('*:read'))
}

/** Scopes of a JWT: `scope` (OAuth 2.0, space-separated) and `scp` (an array, or a string as Entra ID writes it). */
export function scopesOfClaims (claims: Record<string, unknown>): Set<string> {
  const scopes = new Set<string>()
  for (const claim of [claims.scope, claims.scp]) {
    const values = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : []
    for (const value of values) if (typeof value === 'string' && value !== '') scopes.add(value)
  }
  return scopes
}
