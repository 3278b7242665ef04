import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { apiKeyLookup } from '../../auth/api-keys.js'
import type { Caller } from '../../auth/caller.js'
import { apiKey, bearerToken, type Presented } from '../../auth/credentials.js'
import { accessOf, hasScope, requiredScope, type Access } from '../../auth/scopes.js'
import type { AuthSettings } from '../../auth/settings.js'
import { authenticationRequired, insufficientScope, invalidCredentials, VersoError } from '../../errors.js'
import { ZERO_ID } from '../../models/entity.js'
import { isOpenPath } from '../../open-paths.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without credentials whatever AUTH_MODE is (documented with `security: []`). */
    public?: boolean
  }
  interface FastifyRequest {
    /** Who is writing: `changed_by_id` of the versions this request makes. The zero id when anonymous. */
    callerId: string
    /** Scopes of the authenticated caller; null when AUTH_MODE=none or on an open route. */
    callerScopes: ReadonlySet<string> | null
  }
  interface FastifyInstance {
    /**
     * Throws 403 when AUTH_SCOPES=true and the caller lacks `{modelPath}:{access}`. The auth hook checks the
     * model of the route; a route touching other models (a batch) calls it for each.
     */
    authorize: (request: FastifyRequest, modelPath: string, access: Access) => void
  }
}

export interface AuthPluginOptions {
  settings: AuthSettings
  /** Path segments of the models: the first segment of a route names the model whose scope it needs. */
  modelPaths: readonly string[]
}

const REALM = 'verso'

/** RFC 6750 §3: no error code when no credentials were sent; quoted-string values without `"` or `\`. */
function challenge (problem: VersoError): string | undefined {
  const quoted = (text: string): string => `"${text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'")}"`
  switch (problem.code) {
    case 'VERSO_AUTHENTICATION_REQUIRED': return `Bearer realm="${REALM}"`
    case 'VERSO_INVALID_CREDENTIALS': return `Bearer realm="${REALM}", error="invalid_token", error_description=${quoted(problem.message)}`
    case 'VERSO_INSUFFICIENT_SCOPE': return `Bearer realm="${REALM}", error="insufficient_scope", error_description=${quoted(problem.message)}, scope=${quoted(String(problem.extra.required_scope))}`
    default: return undefined
  }
}

/**
 * AUTH_MODE: who the caller is (request.callerId, written as `changed_by_id`) and whether it may touch the
 * model. Runs in onRequest, before the body is read, so a refused request never reaches parsing or DynamoDB.
 */
export default fp<AuthPluginOptions>(async (app, options) => {
  const { settings } = options
  const models = new Set(options.modelPaths)
  // Open: the OPEN_PATHS by route pattern, and any route that says `config: { public: true }`.
  const isPublic = (url: string | undefined, config: { public?: boolean } | undefined): boolean =>
    config?.public === true || isOpenPath(url)

  app.decorateRequest('callerId', ZERO_ID)
  app.decorateRequest('callerScopes', null)
  const scopesOn = settings.mode !== 'none' && settings.scopes
  app.decorate('authorize', (request: FastifyRequest, modelPath: string, access: Access) => {
    if (scopesOn && !hasScope(request.callerScopes ?? new Set(), modelPath, access)) throw insufficientScope(requiredScope(modelPath, access))
  })

  // Open routes say `security: []` in the document; the swagger plugin adds 401 (and 403) to the others when AUTH_MODE asks for credentials.
  app.addHook('onRoute', (route) => {
    const schema = route.schema as Record<string, unknown> | undefined
    if (schema === undefined || schema.hide === true) return
    if (isPublic(route.url, route.config)) route.schema = { ...schema, security: [] }
  })

  if (settings.mode === 'none') return

  let authenticate: (request: FastifyRequest) => Promise<Caller>
  const presented = (found: Presented, how: string): string => {
    if (found.kind === 'none') throw authenticationRequired(how)
    if (found.kind === 'malformed') throw invalidCredentials(found.reason)
    return found.value
  }
  if (settings.mode === 'jwt') {
    // jose (about 8 MB of RSS) is loaded only when tokens are verified.
    const { jwtVerifier } = await import('../../auth/jwt.js')
    const verify = jwtVerifier(settings, app.log)
    authenticate = async (request) => await verify(presented(bearerToken(request), 'send Authorization: Bearer <token>'))
  } else {
    const lookup = apiKeyLookup(settings.keys)
    authenticate = async (request) => {
      const caller = lookup(presented(apiKey(request), 'send Authorization: Bearer <key> or X-API-Key: <key>'))
      if (caller === undefined) throw invalidCredentials('The API key is not known.')
      return caller
    }
  }

  app.addHook('onRequest', async (request, reply) => {
    if (isPublic(request.routeOptions.url, request.routeOptions.config)) return
    // A CORS preflight carries no credentials by design; it reaches no handler, only @fastify/cors.
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) return
    try {
      const caller = await authenticate(request)
      request.callerId = caller.id
      request.callerScopes = caller.scopes
      const model = request.routeOptions.url?.split('/')[1]
      if (model !== undefined && models.has(model)) app.authorize(request, model, accessOf(request.method))
    } catch (err) {
      const header = err instanceof VersoError ? challenge(err) : undefined
      if (header !== undefined) reply.header('www-authenticate', header)
      throw err
    }
  })
}, { name: 'auth' })
