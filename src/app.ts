import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { ConfigSchema, durationSeconds, type Config } from './config/config.js'
import type { Model } from './models/define.js'
import { models as builtInModels } from './models/index.js'
import { serverOptions } from './http/server-options.js'
import { Metrics } from './metrics/metrics.js'
import { authSettings, type AuthConfig } from './auth/settings.js'
import { documentedAuth } from './auth/openapi.js'
import schemaCompilers from './plugins/app/schema-compilers.js'
import problems from './plugins/app/problems.js'
import lingeringClose from './plugins/app/lingering-close.js'
import jsonParser from './plugins/app/json-parser.js'
import traceContext from './plugins/app/trace-context.js'
import cursors from './plugins/app/cursors.js'
import idempotencyKeys from './plugins/app/idempotency-keys.js'
import requestId from './plugins/app/request-id.js'
import requireHost from './plugins/app/require-host.js'
import auth from './plugins/app/auth.js'
import storage from './plugins/app/storage.js'
import tracing from './plugins/app/tracing.js'
import metrics from './plugins/app/http-metrics.js'
import swagger, { type DocumentOptions } from './plugins/external/swagger.js'
import helmet from './plugins/external/helmet.js'
import cors from './plugins/external/cors.js'
import underPressure from './plugins/external/under-pressure.js'
import rateLimit from './plugins/external/rate-limit.js'
import routes from './routes/index.js'
import { countCalls } from './storage/client.js'

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
  const app = Fastify(serverOptions({
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: orDefault(config, 'KEEP_ALIVE_TIMEOUT_MS'),
    headersTimeoutMs: orDefault(config, 'HEADERS_TIMEOUT_MS')
  }, options.logger ?? false))
  await app.register(schemaCompilers)
  await app.register(problems, { bodyLimit: config.BODY_LIMIT_BYTES })
  // First of the request hooks: a connection closed after an early answer (413, a GET with a body) must not lose it.
  await app.register(lingeringClose)
  const models = options.models ?? builtInModels
  const bodyShape = { maxDepth: orDefault(config, 'BODY_MAX_DEPTH'), maxFields: orDefault(config, 'BODY_MAX_FIELDS') }
  await app.register(jsonParser, { shape: bodyShape })
  await app.register(traceContext)
  await app.register(cursors, { secret: config.CURSOR_SECRET })
  await app.register(idempotencyKeys, { ttlSeconds: durationSeconds(config.IDEMPOTENCY_TTL ?? '24h') })
  await app.register(requestId)
  // Before the other plugins' request hooks: the span covers the whole request (OpenTelemetry, only when OTEL_* configure it).
  await app.register(tracing, { dynamo: options.dynamo })

  // Request hooks run in registration order: security headers on every answer, then CORS preflights (which
  // carry no credentials), then load shedding, all before authentication. The rate limit hangs on each
  // route, so it runs after authentication and keys on the caller.
  await app.register(helmet)
  await app.register(requireHost)
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
    events: config,
    scanPolicy: config.SCAN_POLICY ?? 'allow',
    ...(config.STATS_ENABLED === true ? { stats: countCalls(options.dynamo) } : {}),
    console: config.CONSOLE_ENABLED === true,
    bulk: { lineLimit: config.BODY_LIMIT_BYTES, bodyLimit: orDefault(config, 'BULK_BODY_LIMIT_BYTES'), shape: bodyShape }
  })
  return app
}
