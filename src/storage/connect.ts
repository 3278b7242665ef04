import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { Config } from '../config/config.js'
import type { EmbeddedDynamo } from '../embedded/dynamodb-local.js'
import { startEmbedded } from '../embedded/start.js'
import { createDynamoClient } from './client.js'

export interface Storage {
  client: DynamoDBClient
  /** Set when verso started its own DynamoDB Local. */
  embedded?: EmbeddedDynamo
  /** Where verso talks to: an endpoint URL, or "AWS <region>". */
  target: string
  close: () => Promise<void>
}

/**
 * The DynamoDB verso uses: the configured endpoint, real AWS, or (nothing configured) an embedded DynamoDB
 * Local: `started` when the caller has already started it, else started here.
 */
export async function connectStorage (config: Config, started?: Promise<EmbeddedDynamo>): Promise<Storage> {
  const embedded = config.embedded ? await (started ?? startEmbedded(config.DATA_DIR)) : undefined
  const endpoint = embedded?.endpoint ?? config.DYNAMODB_ENDPOINT
  const client = createDynamoClient({ ...(endpoint === undefined ? {} : { endpoint }), ...(config.AWS_REGION === undefined ? {} : { region: config.AWS_REGION }) })
  return {
    client,
    ...(embedded === undefined ? {} : { embedded }),
    target: endpoint ?? `AWS ${await client.config.region()}`,
    close: async () => {
      client.destroy()
      await embedded?.stop()
    }
  }
}
