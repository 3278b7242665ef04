import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { createRequire } from 'node:module'
import { securityOf, type DocumentedAuth } from '../../auth/openapi.js'
import { isOpenPath, NEVER_SHED_PATH } from '../../open-paths.js'
import { header, OPTIONAL_BODY, problem as routeProblem, REQUIRED_HEADER, RetryAfterHeader, UNDOCUMENTED } from '../../http/schemas.js'

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string }

/**
 * The one inline style Swagger UI has: the <style> in its top-bar logo SVG (swagger-ui-dist 5.34). The
 * browser test (test/browser/swagger-ui.test.ts) fails on any CSP violation, so an upgrade that changes it shows.
 */
const SWAGGER_LOGO_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"
const DOCS_CSP = [
  "default-src 'self'", "base-uri 'self'", "connect-src 'self'", "font-src 'self' data:", "form-action 'self'",
  "frame-ancestors 'self'", "img-src 'self' data:", "object-src 'none'", "script-src 'self'", "script-src-attr 'none'",
  `style-src 'self' ${SWAGGER_LOGO_STYLE}`
].join('; ')

/** What the configuration adds to the document beyond the route schemas. */
export interface DocumentOptions {
  auth: DocumentedAuth
  /** RATE_LIMIT_MAX > 0: 429 and the RateLimit headers on the limited routes. */
  rateLimited: boolean
  /** MAX_EVENT_LOOP_DELAY_MS or MAX_EVENT_LOOP_UTILIZATION set: 503 VERSO_OVERLOADED on every route but liveness. */
  shedsLoad: boolean
  /** Where the API is; the served document names its own origin ("/"). */
  servers?: Array<{ url: string, description: string }>
}

/** A strong entity tag: what If-Match must be for a write to succeed. */
const IF_MATCH = {
  pattern: '^"[0-9a-f]{32}"$',
  description: 'The version this write is based on, as a strong entity tag: "<version>" with the quotes. Missing (and no body version): 428; not a quoted tag: 400; not the current version: 412. If-Match: * is refused with 428.'
}

const RequestIdHeader = { type: 'string', description: 'The request id: the caller\'s x-request-id when it is 1-128 of A-Z a-z 0-9 . _ : -, else a new UUID; also request_id of a problem', examples: ['8f14e45f-ceea-4a6b-9c4e-1b2d3c4e5f60'] }
/** Sent once the caller is known and counted: not on a 401/403, nor on a request refused before routing. */
const rateLimitHeaders = (always: boolean): Json => ({
  'ratelimit-limit': header({ type: 'string', description: 'Requests allowed per window (IETF RateLimit header fields draft)' }, always),
  'ratelimit-remaining': header({ type: 'string', description: 'Requests left in the current window' }, always),
  'ratelimit-reset': header({ type: 'string', description: 'Seconds until the window resets' }, always)
})

type Json = Record<string, any>

/** A problem answer added to the finished document, where the schema is a component already. */
const problem = (description: string, headers?: Record<string, unknown>): Json =>
  ({ ...routeProblem(description, headers), content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } })
const METHODS = ['get', 'put', 'post', 'delete', 'patch']

/** Response headers from fastify-swagger's `{ schema }` form to Header Objects, `required` where always sent. */
function finishHeaders (headers: Json | undefined): Json {
  const result: Json = {}
  for (const [name, value] of Object.entries<Json>(headers ?? {})) {
    const { [REQUIRED_HEADER]: always, ...schema } = (value.schema ?? value) as Json
    const description = value.description ?? schema.description
    delete schema.description
    result[name] = { ...(description === undefined ? {} : { description }), ...(always === true ? { required: true } : {}), schema }
  }
  return result
}

/** OpenAPI 3.1 needs no discriminator to pick a oneOf branch by a const; ajv's (runtime) one has no mapping, which generators want. */
function dropDiscriminators (node: unknown): void {
  if (typeof node !== 'object' || node === null) return
  if (!Array.isArray(node) && 'discriminator' in node && 'oneOf' in node) delete (node as Json).discriminator
  for (const value of Object.values(node)) dropDiscriminators(value)
}

/**
 * Completes the document fastify-swagger builds from the route schemas with what the configuration decides
 * and the route schemas cannot say: servers and security, the answers every route may give (400, 408, 500,
 * 401/403 with credentials, 429 with a rate limit, 503 while shedding load), x-request-id on every answer,
 * required response headers, optional bodies and the If-Match pattern.
 */
export function finishDocument (doc: Json, options: DocumentOptions): Json {
  const { schemes, security } = securityOf(options.auth)
  doc.servers = options.servers ?? [{ url: '/', description: 'This verso (the origin the document was fetched from)' }]
  // AUTH_MODE=none: an empty requirement says that no operation needs credentials.
  doc.security = security
  if (security.length > 0) doc.components.securitySchemes = schemes
  dropDiscriminators(doc)
  for (const [path, item] of Object.entries<Json>(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined
      if (op === undefined) continue
      const open = Array.isArray(op.security) && op.security.length === 0
      if (open && security.length === 0) delete op.security
      const common: Json = {
        400: problem('The request is not one verso can read (missing Host, bad URL encoding, over-long path parameter)'),
        408: problem('The request did not arrive within REQUEST_TIMEOUT_MS (VERSO_REQUEST_TIMEOUT); the connection is closed'),
        500: problem('Unexpected error (VERSO_INTERNAL); the log has it under the request id')
      }
      if (!open && options.auth.modes.length > 0) {
        common[401] = problem('Missing or invalid credentials (VERSO_AUTHENTICATION_REQUIRED, VERSO_INVALID_CREDENTIALS)', { 'www-authenticate': header({ type: 'string', description: 'RFC 6750 Bearer challenge: error="invalid_token" when credentials were sent', examples: ['Bearer realm="verso"'] }) })
        if (options.auth.scopes) common[403] = problem('The caller lacks the scope {model}:read or {model}:write (VERSO_INSUFFICIENT_SCOPE)', { 'www-authenticate': header({ type: 'string', description: 'RFC 6750 challenge with error="insufficient_scope" and scope (not sent when a transaction operation lacks it)', examples: ['Bearer realm="verso", error="insufficient_scope", scope="person:write"'] }, false) })
      }
      if (options.rateLimited && !isOpenPath(path)) common[429] = problem('Too many requests from this caller in the window (VERSO_RATE_LIMITED)', { 'retry-after': header(RetryAfterHeader), ...rateLimitHeaders(true) })
      const unavailable = [
        ...(options.shedsLoad && path !== NEVER_SHED_PATH ? ['the replica is overloaded (VERSO_OVERLOADED)'] : []),
        ...(!open && options.auth.modes.includes('jwt') ? ['the JWKS cannot be fetched (VERSO_AUTH_UNAVAILABLE)'] : [])
      ]
      if (unavailable.length > 0) common[503] = problem(`Unavailable: ${unavailable.join(', or ')}; retry after Retry-After seconds`, { 'retry-after': header(RetryAfterHeader) })
      const responses: Json = { ...op.responses }
      for (const [status, response] of Object.entries<Json>(common)) {
        // A route's own description of a status wins; its headers gain the common ones.
        responses[status] = responses[status] === undefined ? response : { ...responses[status], headers: { ...response.headers, ...responses[status].headers } }
      }
      for (const [status, response] of Object.entries<Json>(responses)) {
        const limited = options.rateLimited && !isOpenPath(path) ? rateLimitHeaders(false) : {}
        // A 408 is written on the raw socket, before a request (and its id) exists.
        const requestId = status === '408' ? {} : { 'x-request-id': header(RequestIdHeader) }
        response.headers = finishHeaders({ ...requestId, ...limited, ...response.headers })
        if (Object.keys(response.headers).length === 0) delete response.headers
      }
      op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)))
      op.parameters = op.parameters?.filter((p: Json) => p.schema?.[UNDOCUMENTED] !== true)
      if (op.parameters?.length === 0) delete op.parameters
      for (const parameter of op.parameters ?? []) {
        if (parameter.in === 'header' && parameter.name === 'if-match') {
          parameter.schema = { ...parameter.schema, pattern: IF_MATCH.pattern }
          parameter.description = IF_MATCH.description
          delete parameter.schema.description
        }
      }
      if (op[OPTIONAL_BODY] === true && op.requestBody !== undefined) op.requestBody.required = false
      delete op[OPTIONAL_BODY]
    }
  }
  return doc
}

/** OpenAPI document from the route schemas, served at /openapi.json, and Swagger UI at /docs. */
export default fp<DocumentOptions>(async (app, options) => {
  await app.register(swagger, {
    openapi: {
      // 3.1: Schema Objects are JSON Schema 2020-12, so the schemas that validate requests appear as they are.
      openapi: '3.1.0',
      info: {
        title: 'verso',
        version,
        description: 'Versioned, audited entities on DynamoDB. Every write makes a new version, copies the replaced one to the audit table and records a change event, in one transaction. Errors are RFC 9457 problem+json. The change events are described by the AsyncAPI document at /asyncapi.json.'
      },
      tags: [{ name: 'health', description: 'Liveness and readiness' }]
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}`
    },
    transformObject: (document) => finishDocument('openapiObject' in document ? document.openapiObject : {}, options)
  })
  // Swagger UI's pages get a policy of their own (the API's allows nothing): same-origin scripts, styles,
  // images and calls ("Try it out"), no inline script. No upgrade-insecure-requests: verso is often served
  // over plain HTTP inside a network, where that directive would break every asset.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'swagger' })
