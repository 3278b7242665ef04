import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config/config.js'
import { createPublisher } from './publishers/index.js'
import { OutboxRelay } from './relay.js'

/** A relay with the configured publisher and settings; the service and `npm run relay` both use this. */
export async function createRelay (config: Config, client: DynamoDBClient, log: FastifyBaseLogger): Promise<OutboxRelay> {
  return new OutboxRelay({
    client,
    tablePrefix: config.TABLE_PREFIX,
    shards: config.OUTBOX_SHARDS,
    publisher: await createPublisher(config, log),
    log,
    batchSize: config.RELAY_BATCH_SIZE,
    concurrency: config.RELAY_CONCURRENCY,
    leaseMs: config.RELAY_LEASE_MS,
    idlePollMs: config.RELAY_IDLE_POLL_MS,
    statsMs: config.RELAY_STATS_MS
  })
}
