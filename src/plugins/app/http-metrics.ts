import fp from 'fastify-plugin'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { Metrics } from '../../metrics/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus metrics of this app (served by src/bin/server.ts on METRICS_PORT); null when they are off. */
    metrics: Metrics | null
  }
}

export interface MetricsPluginOptions {
  /** null: no metrics, and no hook on the request path at all. */
  metrics: Metrics | null
  /** The DynamoDB client whose calls are counted and timed (until the app closes). */
  dynamo: DynamoDBClient
}

/**
 * Request metrics (prom-client registry in src/metrics): one onResponse hook labelled with the route's pattern,
 * never the raw URL, so the number of series stays bounded; DynamoDB calls through an SDK middleware.
 */
export default fp<MetricsPluginOptions>(async (app, { metrics, dynamo }) => {
  app.decorate('metrics', metrics)
  if (metrics === null) return
  const http = metrics.http
  app.addHook('onResponse', (request, reply, done) => {
    http.observe(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime)
    done()
  })
  const stop = metrics.instrument(dynamo)
  app.addHook('onClose', async () => { stop() })
}, { name: 'metrics' })
