import fp from 'fastify-plugin'
import cors from '@fastify/cors'

/** Request headers a browser client may send: preconditions, idempotency, credentials, tracing. */
const ALLOWED_HEADERS = ['Content-Type', 'Authorization', 'X-Api-Key', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'X-Request-Id', 'traceparent', 'tracestate']
/** Response headers a browser client may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = ['ETag', 'Location', 'X-Request-Id', 'Idempotent-Replayed', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After', 'X-Query-Plan', 'Accept-Patch', 'Verso-Chain']

/** `*` or a comma-separated list of origins (CORS_ORIGINS, validated by the config schema). */
export function parseOrigins (value: string): '*' | string[] {
  const origins = value.split(',').map((o) => o.trim()).filter((o) => o !== '')
  return origins.includes('*') ? '*' : origins
}

/**
 * CORS for browser clients on other origins; registered only when CORS_ORIGINS is set. Preflights are
 * answered in this plugin's onRequest hook, ahead of authentication (a browser sends no credentials with
 * a preflight). No cookies are involved (credentials: false): callers authenticate with a header.
 */
export default fp<{ origins: string }>(async (app, { origins }) => {
  await app.register(cors, {
    origin: parseOrigins(origins),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
    // An OPTIONS request that is not a valid preflight would get a text/plain 400 in strict mode.
    strictPreflight: false
  })
}, { name: 'cors' })
