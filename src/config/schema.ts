import { Type, type Static } from 'typebox'

/**
 * verso's settings as a schema, and the types made from it. Apart from loadConfig (config.ts), so that
 * src/auth/settings.ts can take its types from here while loadConfig checks the AUTH_* settings with it.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'TCP port the HTTP API listens on' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface the HTTP API binds to' }),
  LOG_LEVEL: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info' }),
  DYNAMODB_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'DynamoDB-compatible endpoint URL' })),
  AWS_REGION: Type.Optional(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$' })),
  TABLE_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_.-]*$', maxLength: 200, default: '' }),
  CREATE_TABLES: Type.Optional(Type.Boolean()),
  DATA_DIR: Type.Optional(Type.String({ minLength: 1 })),
  MODELS_DIR: Type.Optional(Type.String({ minLength: 1, description: 'Folder of runtime model files (*.json), served beside the built-in models' })),
  AUTH_MODE: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('jwt'), Type.Literal('api-key')])),
  AUTH_JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'HS256 secret of AUTH_MODE=jwt' })),
  AUTH_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'JWKS of the token issuer (RS256/ES256) for AUTH_MODE=jwt' })),
  AUTH_JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_CLOCK_SKEW_S: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
  AUTH_API_KEYS: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_SCOPES: Type.Boolean({ default: false }),
  OUTBOX_SHARDS: Type.Integer({ minimum: 1, maximum: 1024, default: 16 }),
  EVENT_SOURCE: Type.String({ minLength: 1, default: '/verso' }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 30000 }),
  STORAGE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 10000, description: 'Most time one request spends on DynamoDB, every call and retry included; past it the request is answered 503 VERSO_STORAGE_TIMEOUT' }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, maximum: 600000, default: 10000 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
  BULK_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024 * 1024, default: 1024 * 1024 * 1024, description: 'Largest body of one bulk import (POST /{model}/_bulk), read as a stream; each line is still at most BODY_LIMIT_BYTES' }),
  BODY_MAX_DEPTH: Type.Integer({ minimum: 2, maximum: 1000, default: 32, description: 'Objects and arrays nested in a JSON body, the body itself being level 1' }),
  BODY_MAX_FIELDS: Type.Integer({ minimum: 10, maximum: 1000000, default: 1000, description: 'Object members plus array elements of a JSON body, at every level' }),
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 72000, description: 'Idle time before a keep-alive connection is closed; above the load balancer\'s idle timeout' }),
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 10000, description: 'Time to receive the request headers (at most REQUEST_TIMEOUT_MS)' }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 0, maximum: 1000000, default: 0, description: 'Requests per caller per window; 0 turns rate limiting off' }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1000, maximum: 86400000, default: 60000 }),
  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 1000, description: 'Answer 503 while the event loop lags more than this; 0 turns it off' }),
  MAX_EVENT_LOOP_UTILIZATION: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'Answer 503 while event loop utilization is above this (0-1); 0 turns it off' }),
  ADMISSION_TARGET_MS: Type.Integer({ minimum: 0, maximum: 600000, default: 2000, description: 'Admit a request only while the requests in flight would be done within this at the rate verso has been finishing them; the rest are answered 503 with Retry-After at once. 0 turns it off' }),
  CORS_ORIGINS: Type.Optional(Type.String({ pattern: '^(\\*|https?://[^\\s,/]+(\\s*,\\s*https?://[^\\s,/]+)*)$', description: 'Origins allowed by CORS: * or a comma-separated list of scheme://host[:port]; unset turns CORS off' })),
  CURSOR_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  SCAN_POLICY: Type.Union([Type.Literal('allow'), Type.Literal('deny')], { default: 'allow' }),
  STATS_ENABLED: Type.Boolean({ default: false }),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Port of the Prometheus metrics listener (GET /metrics), apart from the API; unset turns metrics off' })),
  METRICS_HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface the metrics listener binds to' }),
  IDEMPOTENCY_TTL: Type.String({ pattern: '^[1-9][0-9]{0,6}[smhd]?$', default: '24h', description: 'How long an Idempotency-Key is remembered: seconds, or a number with s, m, h or d' }),
  RELAY_ENABLED: Type.Boolean({ default: true }),
  OUTBOX_PUBLISHER: Type.Optional(Type.Union([Type.Literal('log'), Type.Literal('rabbitmq'), Type.Literal('sqs'), Type.Literal('webhook')])),
  RABBITMQ_URL: Type.Optional(Type.String({ pattern: '^amqps?://[^\\s]+$' })),
  RABBITMQ_EXCHANGE: Type.String({ minLength: 1, maxLength: 255, default: 'verso.events' }),
  SQS_QUEUE_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  WEBHOOK_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  RELAY_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  RELAY_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 16 }),
  RELAY_LEASE_MS: Type.Integer({ minimum: 1000, maximum: 600000, default: 15000 }),
  RELAY_IDLE_POLL_MS: Type.Integer({ minimum: 10, maximum: 60000, default: 1000 }),
  RELAY_STATS_MS: Type.Integer({ minimum: 1000, maximum: 3600000, default: 30000 }),
  CONSOLE_ENABLED: Type.Optional(Type.Boolean({ description: 'Serve the history console at /console; default true in the embedded mode, false otherwise' }))
})

export type Publisher = 'log' | 'rabbitmq' | 'sqs' | 'webhook'

export type RawConfig = Static<typeof ConfigSchema>

export interface Config extends Omit<RawConfig, 'CREATE_TABLES' | 'AUTH_MODE' | 'OUTBOX_PUBLISHER' | 'CONSOLE_ENABLED'> {
  /** true when no DYNAMODB_ENDPOINT and no AWS configuration: verso starts DynamoDB Local itself */
  embedded: boolean
  CREATE_TABLES: boolean
  AUTH_MODE: 'none' | 'jwt' | 'api-key'
  OUTBOX_PUBLISHER: Publisher
  CONSOLE_ENABLED: boolean
}
