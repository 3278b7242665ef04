import type { FastifyPluginAsync } from 'fastify'
import type { Model } from '../models/define.js'
import type { BodyShapeLimits } from '../http/body-shape.js'
import type { CallCounts } from '../storage/client.js'
import asyncApiRoute, { type AsyncApiOptions } from './asyncapi.js'
import bulkRoutes from './bulk.js'
import consoleRoutes from './console.js'
import entityRoutes from './entities.js'
import { serveModel } from './entity-schemas.js'
import { healthRoutes, statsRoute } from './health.js'
import historyRoutes from './history.js'
import modelCatalog from './model-catalog.js'
import transactionRoutes from './transactions.js'

export interface RoutesOptions {
  models: readonly Model[]
  /** TABLE_PREFIX: /_models names each model's tables. */
  tablePrefix: string
  /** EVENT_SOURCE and RABBITMQ_EXCHANGE, for /asyncapi.json. */
  events: AsyncApiOptions['config']
  scanPolicy: 'allow' | 'deny'
  /** Serve /_stats (STATS_ENABLED) with these counts. */
  stats?: CallCounts
  /** Serve the history console at /console (CONSOLE_ENABLED). */
  console: boolean
  bulk: { lineLimit: number, bodyLimit: number, shape: BodyShapeLimits }
}

/**
 * Every route of the service. The models' schemas are built once and registered first, so that every route
 * (a transaction's results too) refers to them; then each model's routes in a plugin of its own, under /{model}.
 * The order of registration is the order of the OpenAPI document.
 */
const routes: FastifyPluginAsync<RoutesOptions> = async (app, options) => {
  const served = options.models.map(serveModel)
  for (const { schemas } of served) {
    app.addSchema(schemas.entity)
    app.addSchema(schemas.projection)
  }
  await app.register(healthRoutes)
  await app.register(modelCatalog, { models: options.models, tablePrefix: options.tablePrefix })
  await app.register(asyncApiRoute, { models: options.models, config: options.events })
  if (options.stats !== undefined) await app.register(statsRoute, { calls: options.stats })
  if (options.console) await app.register(consoleRoutes, {})
  for (const model of served) {
    await app.register(entityRoutes, { prefix: model.prefix, served: model, scanPolicy: options.scanPolicy })
    await app.register(historyRoutes, { prefix: model.prefix, served: model })
  }
  await app.register(transactionRoutes, { served })
  await app.register(bulkRoutes, { served, ...options.bulk })
}

export default routes
