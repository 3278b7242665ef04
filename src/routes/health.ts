import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { serviceUnavailable } from '../errors.js'
import { problemResponses } from '../http/schemas.js'

const Status = Type.Object({ status: Type.String({ examples: ['ok'] }) })

/** Liveness (the process answers) and readiness (DynamoDB answers and verso's outbox table is there). */
export function registerHealthRoutes (app: FastifyInstance, readinessTable: string): void {
  app.get('/health/live', {
    logLevel: 'warn',
    schema: { tags: ['health'], operationId: 'live', summary: 'Liveness', response: { 200: Status } }
  }, async () => ({ status: 'ok' }))

  app.get('/health/ready', {
    logLevel: 'warn',
    schema: { tags: ['health'], operationId: 'ready', summary: 'Readiness: DynamoDB answers', response: { 200: Status, ...problemResponses(503) } }
  }, async (request) => {
    try {
      await app.dynamo.send(new DescribeTableCommand({ TableName: readinessTable }), { abortSignal: AbortSignal.timeout(2000) })
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed')
      throw serviceUnavailable()
    }
    return { status: 'ok' }
  })
}
