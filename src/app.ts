import { randomBytes, randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { Config } from './config/config.js'
import type { Model } from './models/define.js'
import { ZERO_ID } from './models/meta.js'
import { models as builtInModels } from './models/index.js'
import { CursorCodec } from './http/cursor.js'
import { registerJsonParser } from './http/json-body.js'
import { clientErrorHandler, frameworkErrors, registerProblemHandlers } from './http/problem.js'
import { Problem } from './http/schemas.js'
import { validatorCompiler } from './http/validation.js'
import storage from './plugins/app/storage.js'
import swagger from './plugins/external/swagger.js'
import { registerModelRoutes } from './routes/entities.js'
import { registerHealthRoutes, registerStatsRoute } from './routes/health.js'
import { countCalls } from './storage/client.js'
import { registerHistoryRoutes } from './routes/history.js'
import { outboxTable } from './storage/table-names.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Signs and checks page cursors. */
    cursors: CursorCodec
  }
  interface FastifyRequest {
    /** Who is writing: `changed_by_id` of the versions this request makes. The zero id when anonymous. */
    callerId: string
  }
}

export interface AppOptions {
  config: Pick<Config, 'TABLE_PREFIX' | 'OUTBOX_SHARDS' | 'EVENT_SOURCE' | 'BODY_LIMIT_BYTES' | 'REQUEST_TIMEOUT_MS'> & {
    CURSOR_SECRET?: string
    SCAN_POLICY?: 'allow' | 'deny'
    STATS_ENABLED?: boolean
  }
  dynamo: DynamoDBClient
  /** Destroy the DynamoDB client on close. */
  ownsClient?: boolean
  models?: readonly Model[]
  logger?: FastifyServerOptions['logger']
  /** Called with the outbox shard of every committed event (the in-process relay's nudge). */
  onEventCommitted?: (shard: number) => void
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Builds the service (plugins, routes, error handler). Never listens: src/server.ts does that. */
export async function buildApp (options: AppOptions): Promise<FastifyInstance> {
  const { config } = options
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    requestIdHeader: false,
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
  registerJsonParser(app)
  app.decorateRequest('callerId', ZERO_ID)
  // Without CURSOR_SECRET cursors are signed with a key of this process only (server.ts warns about it).
  app.decorate('cursors', new CursorCodec(config.CURSOR_SECRET ?? randomBytes(32).toString('hex')))
  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })
  app.addSchema(Problem)

  await app.register(swagger)
  await app.register(storage, {
    client: options.dynamo,
    ownsClient: options.ownsClient ?? false,
    tablePrefix: config.TABLE_PREFIX,
    outboxShards: config.OUTBOX_SHARDS,
    eventSource: config.EVENT_SOURCE,
    ...(options.onEventCommitted === undefined ? {} : { onEventCommitted: options.onEventCommitted })
  })
  registerHealthRoutes(app, outboxTable(config.TABLE_PREFIX))
  if (config.STATS_ENABLED === true) registerStatsRoute(app, countCalls(options.dynamo))
  for (const model of options.models ?? builtInModels) {
    registerModelRoutes(app, model, app.repository, config.SCAN_POLICY ?? 'allow')
    registerHistoryRoutes(app, model, app.repository)
  }
  return app
}
