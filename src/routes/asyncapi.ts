import type { FastifyPluginAsync } from 'fastify'
import type { Config } from '../config/config.js'
import type { Model } from '../models/define.js'
import { buildAsyncApi } from '../outbox/asyncapi.js'

/**
 * GET /asyncapi.json: the AsyncAPI document of the change events of the models this process serves (runtime
 * models included), with its EVENT_SOURCE and exchange. Open like /openapi.json and never rate limited.
 * server.ts hands buildApp the whole configuration, so RABBITMQ_EXCHANGE is in `config` when the service runs.
 */
export interface AsyncApiOptions {
  models: readonly Model[]
  config: Pick<Config, 'EVENT_SOURCE'> & Partial<Pick<Config, 'RABBITMQ_EXCHANGE'>>
}

const asyncApiRoute: FastifyPluginAsync<AsyncApiOptions> = async (app, { models, config }) => {
  const document = buildAsyncApi({ models, eventSource: config.EVENT_SOURCE, ...(config.RABBITMQ_EXCHANGE === undefined ? {} : { exchange: config.RABBITMQ_EXCHANGE }) })
  app.get('/asyncapi.json', { schema: { hide: true }, config: { public: true, rateLimit: false } }, async () => document)
}

export default asyncApiRoute
