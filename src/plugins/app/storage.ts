import fp from 'fastify-plugin'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { EntityRepository } from '../../repository/repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    dynamo: DynamoDBClient
    repository: EntityRepository
  }
}

export interface StorageOptions {
  client: DynamoDBClient
  tablePrefix: string
  outboxShards: number
  eventSource: string
  /** Destroy the client when the app closes (false when the caller shares it). */
  ownsClient: boolean
  onEventCommitted?: (shard: number) => void
  /** Each request's deadline for its DynamoDB work (STORAGE_TIMEOUT_MS). */
  storageTimeoutMs: number
}

/** The DynamoDB client and the entity repository, shared by every route. */
export default fp<StorageOptions>(async (app, options) => {
  app.decorate('dynamo', options.client)
  app.decorate('repository', new EntityRepository(options))
  if (options.ownsClient) app.addHook('onClose', async () => { options.client.destroy() })
}, { name: 'storage' })
