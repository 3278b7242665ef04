import { randomBytes, randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { ConfigSchema, durationSeconds, type Config } from './config/config.js'
import type { Model } from './models/define.js'
import { ZERO_ID } from './models/entity.js'
import { models as builtInModels } from './models/index.js'
import { CursorCodec } from './http/cursor.js'
import { IdempotencyKeys } from './http/idempotency-key.js'
import { registerJsonParser } from './http/json-body.js'
import { requestTrace, traceChildLogger, type TraceContext } from './http/trace-context.js'
import { Metrics } from './metrics/metrics.js'
import { clientErrorHandler, frameworkErrors, registerProblemHandlers, requireHost } from './http/problem.js'
import { registerLingeringClose } from './http/lingering-close.js'
import { Problem } from './http/schemas.js'
import { validatorCompiler } from './http/validation.js'
import auth from './plugins/app/auth.js'
import { authSettings, type AuthConfig } from './auth/settings.js'
import storage from './plugins/app/storage.js'
import tracing from './plugins/app/tracing.js'
import swagger, { type DocumentOptions } from './plugins/external/swagger.js'
import { documentedAuth } from './auth/openapi.js'
import metrics from './plugins/app/http-metrics.js'
import helmet from './plugins/external/helmet.js'
import cors from './plugins/external/cors.js'
import underPressure from './plugins/external/under-pressure.js'
import rateLimit from './plugins/external/rate-limit.js'
import routes from './routes/index.js'
import { countCalls } from './storage/client.js'
import { outboxTable } from './storage/table-names.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Signs and checks page cursors. */
    cursors: CursorCodec
  }
  interface FastifyRequest {
    /** Who is writing: `changed_by_id` of the versions this request makes. The zero id when anonymous. */
    callerId: string
    /** W3C trace context: the caller's `traceparent` when valid, else a new trace (src/http/trace-context.ts). */
    trace: TraceContext
  }
}

export interface AppOptions {
  config: Pick<Config, 'TABLE_PREFIX' | 'OUTBOX_SHARDS' | 'EVENT_SOURCE' | 'BODY_LIMIT_BYTES' | 'REQUEST_TIMEOUT_MS'> & AuthConfig & {
    CURSOR_SECRET?: string
    SCAN_POLICY?: 'allow' | 'deny'
    STATS_ENABLED?: boolean
    /** Serve the history console at /console (src/routes/console.ts). Default false. */
    CONSOLE_ENABLED?: boolean
    /** How long an Idempotency-Key is remembered (`24h`, `90m`, seconds). Default 24h. */
    IDEMPOTENCY_TTL?: string
  } & LimitSettings
  dynamo: DynamoDBClient
  /** Destroy the DynamoDB client on close. */
  ownsClient?: boolean
  models?: readonly Model[]
  logger?: FastifyServerOptions['logger']
  /** Called with the outbox shard of every committed event (the in-process relay's nudge). */
  onEventCommitted?: (shard: number) => void
  /** Collect Prometheus metrics into `app.metrics` (src/bin/server.ts serves them on METRICS_PORT). Default false. */
  metrics?: boolean
  /** What /openapi.json says instead of the running configuration (the committed document describes production). */
  openapi?: Pick<DocumentOptions, 'auth' | 'servers'>
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Limits an embedder (a test, a benchmark) may leave out: body shape and timeouts then take the ConfigSchema
 * default; rate limiting, load shedding and CORS stay off unless given (loadConfig gives them in production).
 */
type LimitSetting = 'BODY_MAX_DEPTH' | 'BODY_MAX_FIELDS' | 'KEEP_ALIVE_TIMEOUT_MS' | 'HEADERS_TIMEOUT_MS' | 'RATE_LIMIT_MAX' |
  'RATE_LIMIT_WINDOW_MS' | 'MAX_EVENT_LOOP_DELAY_MS' | 'MAX_EVENT_LOOP_UTILIZATION' | 'CORS_ORIGINS' | 'BULK_BODY_LIMIT_BYTES' | 'STORAGE_TIMEOUT_MS'
export type LimitSettings = Partial<Pick<Config, LimitSetting>>
const orDefault = (config: LimitSettings, key: Exclude<LimitSetting, 'CORS_ORIGINS'>): number =>
  config[key] ?? Number((ConfigSchema.properties[key] as { default?: unknown }).default)

/** Builds the service (plugins, routes, error handler). Never listens: src/bin/server.ts does that. */
export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const { config } = options
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    // Longer than a load balancer's idle timeout (60 s on AWS ALB), so the balancer closes idle connections
    // first and never sends a request down one verso is closing.
    keepAliveTimeout: orDefault(config, 'KEEP_ALIVE_TIMEOUT_MS'),
    http: {
      headersTimeout: Math.min(orDefault(config, 'HEADERS_TIMEOUT_MS'), config.REQUEST_TIMEOUT_MS),
      // Node checks the two timeouts above every 30 s by default, which would let them overrun by as much.
      connectionsCheckingInterval: 1000,
      // Node would answer a request without Host with a bare 400; requireHost (below) answers a problem.
      requireHostHeader: false
    },
    requestIdHeader: false,
    // Each request's logger carries its trace ids (W3C traceparent), made in the same child() fastify makes anyway.
    childLoggerFactory: traceChildLogger,
    // A request that reached verso while it drains is served, not shed with fastify's non-problem 503.
    return503OnClosing: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors raised before routing (a bad URL, an over-long parameter) are problems too.
    frameworkErrors,
    clientErrorHandler
  })
  app.setValidatorCompiler(validatorCompiler)
  // Responses are what is stored, as it is stored: items written by others (Rococo) may lack a field, hold
  // text where JSON was expected or carry attributes the model does not declare. A schema-driven serializer
  // would fail on those or quietly reshape them (defaults added, text turned into objects), so the response
  // schemas document the API and JSON.stringify writes it.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))
  registerProblemHandlers(app, config.BODY_LIMIT_BYTES)
  // A connection closed after an answer sent before the body was read (413, a GET with a body) must not lose it.
  registerLingeringClose(app)
  const models = options.models ?? builtInModels
  const bodyShape = { maxDepth: orDefault(config, 'BODY_MAX_DEPTH'), maxFields: orDefault(config, 'BODY_MAX_FIELDS') }
  registerJsonParser(app, bodyShape)
  app.decorateRequest('callerId', ZERO_ID)
  app.decorateRequest('trace', { getter () { return requestTrace(this.raw) } })
  // Without CURSOR_SECRET cursors are signed with a key of this process only (server.ts warns about it).
  app.decorate('cursors', new CursorCodec(config.CURSOR_SECRET ?? randomBytes(32).toString('hex')))
  app.decorate('idempotency', new IdempotencyKeys(durationSeconds(config.IDEMPOTENCY_TTL ?? '24h')))
  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })
  app.addSchema(Problem)
  // First of the request hooks: the span covers the whole request (OpenTelemetry, only when OTEL_* configure it).
  await app.register(tracing, { dynamo: options.dynamo })

  // Request hooks run in registration order: security headers on every answer, then CORS preflights (which
  // carry no credentials), then load shedding, all before authentication. The rate limit hangs on each
  // route, so it runs after authentication and keys on the caller.
  await app.register(helmet)
  app.addHook('onRequest', requireHost)
  if (config.CORS_ORIGINS !== undefined) await app.register(cors, { origins: config.CORS_ORIGINS })
  const maxEventLoopDelayMs = config.MAX_EVENT_LOOP_DELAY_MS ?? 0
  const maxEventLoopUtilization = config.MAX_EVENT_LOOP_UTILIZATION ?? 0
  if (maxEventLoopDelayMs > 0 || maxEventLoopUtilization > 0) await app.register(underPressure, { maxEventLoopDelayMs, maxEventLoopUtilization })
  if ((config.RATE_LIMIT_MAX ?? 0) > 0) await app.register(rateLimit, { max: config.RATE_LIMIT_MAX ?? 0, windowMs: orDefault(config, 'RATE_LIMIT_WINDOW_MS') })
  // Before the routes and the request hooks of later plugins: a refused request costs no parsing and no DynamoDB call.
  const settings = authSettings(config)
  await app.register(auth, { settings, modelPaths: models.map((m) => m.path) })
  await app.register(metrics, { metrics: options.metrics === true ? new Metrics() : null, dynamo: options.dynamo })
  await app.register(swagger, {
    auth: options.openapi?.auth ?? documentedAuth(settings),
    rateLimited: (config.RATE_LIMIT_MAX ?? 0) > 0,
    shedsLoad: maxEventLoopDelayMs > 0 || maxEventLoopUtilization > 0,
    ...(options.openapi?.servers === undefined ? {} : { servers: options.openapi.servers })
  })
  await app.register(storage, {
    client: options.dynamo,
    ownsClient: options.ownsClient ?? false,
    tablePrefix: config.TABLE_PREFIX,
    outboxShards: config.OUTBOX_SHARDS,
    eventSource: config.EVENT_SOURCE,
    storageTimeoutMs: orDefault(config, 'STORAGE_TIMEOUT_MS'),
    ...(options.onEventCommitted === undefined ? {} : { onEventCommitted: options.onEventCommitted })
  })
  await app.register(routes, {
    models,
    tablePrefix: config.TABLE_PREFIX,
    readinessTable: outboxTable(config.TABLE_PREFIX),
    events: config,
    scanPolicy: config.SCAN_POLICY ?? 'allow',
    ...(config.STATS_ENABLED === true ? { stats: countCalls(options.dynamo) } : {}),
    console: config.CONSOLE_ENABLED === true,
    bulk: { lineLimit: config.BODY_LIMIT_BYTES, bodyLimit: orDefault(config, 'BULK_BODY_LIMIT_BYTES'), shape: bodyShape }
  })
  return app
}
