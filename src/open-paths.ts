/**
 * The paths verso serves besides the models, written once: what needs no credentials, what is never rate-limited
 * or shed, and which first path segments a model may not take. Matched by path segment, never by text prefix, so
 * a model at /docsearch is not mistaken for /docs.
 */

/** Open to everyone and never rate-limited: health checks, Swagger UI and the OpenAPI document, and everything below them. */
export const OPEN_PATHS = ['/health', '/docs', '/openapi.json'] as const

/** The one route load shedding never refuses: a busy replica is not a dead one, and restarting it would not help. */
export const NEVER_SHED_PATH = '/health/live'

/** Top-level paths verso serves itself (open by their route's config, not by path): no model may take them either. */
const OTHER_SERVED_PATHS = ['/asyncapi.json', '/console'] as const

/** First path segments no model may have: a model there would collide with verso's own routes at start. */
export const RESERVED_MODEL_PATHS: ReadonlySet<string> = new Set([...OPEN_PATHS, ...OTHER_SERVED_PATHS].map((p) => p.slice(1)))

/** Whether `path` is `prefix` or lies below it (`/docs/json` is under `/docs`, `/docsearch` is not). */
export const isUnder = (path: string, prefix: string): boolean =>
  path === prefix || (path.startsWith(prefix) && path[prefix.length] === '/')

/** Whether a route pattern (or a URL path without its query) is one of OPEN_PATHS or below one. */
export const isOpenPath = (path: string | undefined): boolean =>
  path !== undefined && OPEN_PATHS.some((open) => isUnder(path, open))
