import { getHeapSpaceStatistics } from 'node:v8'
import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { serviceUnavailable } from '../errors.js'
import { problemResponses } from '../http/schemas.js'
import type { CallCounts } from '../storage/client.js'

const Status = Type.Object({ status: Type.String({ examples: ['ok'] }) })

/** Liveness (the process answers) and readiness (DynamoDB answers and verso's outbox table is there). */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/health/live', {
    logLevel: 'warn',
    schema: { tags: ['health'], operationId: 'live', summary: 'Liveness', response: { 200: Status } }
  }, async () => ({ status: 'ok' }))

  app.get('/health/ready', {
    logLevel: 'warn',
    schema: { tags: ['health'], operationId: 'ready', summary: 'Readiness: DynamoDB answers', response: { 200: Status, ...problemResponses(503) } }
  }, async (request) => {
    try {
      await app.repository.ready()
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed')
      throw serviceUnavailable()
    }
    return { status: 'ok' }
  })
}

/**
 * GET /_stats (only with STATS_ENABLED=true): DynamoDB calls made so far by command, and memory. The
 * benchmark reads calls per operation from it; it is not meant to be public.
 */
export const statsRoute: FastifyPluginAsync<{ calls: CallCounts }> = async (app, { calls }) => {
  app.get('/_stats', {
    logLevel: 'warn',
    schema: {
      tags: ['health'],
      operationId: 'stats',
      summary: 'DynamoDB calls by command and memory (STATS_ENABLED=true only)',
      response: {
        200: Type.Object({
          dynamodb_calls: Type.Record(Type.String(), Type.Integer(), { examples: [{ GetItemCommand: 12, TransactWriteItemsCommand: 4 }] }),
          rss_bytes: Type.Integer(),
          heap_used_bytes: Type.Integer(),
          heap_total_bytes: Type.Integer(),
          external_bytes: Type.Integer(),
          heap_spaces: Type.Record(Type.String(), Type.Integer(), { description: 'Size of each V8 heap space (new_space is the young generation)', examples: [{ new_space: 16777216, old_space: 30408704 }] }),
          uptime_s: Type.Number()
        })
      }
    }
  }, async () => {
    const memory = process.memoryUsage()
    const heapSpaces = Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]))
    return {
      dynamodb_calls: calls,
      rss_bytes: memory.rss,
      heap_used_bytes: memory.heapUsed,
      heap_total_bytes: memory.heapTotal,
      external_bytes: memory.external,
      heap_spaces: heapSpaces,
      uptime_s: process.uptime()
    }
  })
}
