import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { Agent } from 'node:https'
import { Agent as HttpAgent } from 'node:http'

export interface DynamoSettings {
  /** DynamoDB-compatible endpoint; undefined means real AWS through the default credential chain. */
  endpoint?: string
  region?: string
}

/**
 * One client per process. Against a custom endpoint (DynamoDB Local) verso supplies a region and dummy
 * credentials when none are configured, because the emulator accepts any. Timeouts are bounded so that an
 * unreachable DynamoDB turns into a 503 instead of a hanging request; the SDK's standard retry strategy
 * retries throttling and transient errors with backoff (3 attempts).
 */
export function createDynamoClient (settings: DynamoSettings): DynamoDBClient {
  const local = settings.endpoint !== undefined
  const hasKeys = process.env.AWS_ACCESS_KEY_ID !== undefined && process.env.AWS_ACCESS_KEY_ID !== ''
  const agentOptions = { keepAlive: true, maxSockets: 256 }
  return new DynamoDBClient({
    ...(local ? { endpoint: settings.endpoint } : {}),
    region: settings.region ?? (local ? 'us-east-1' : undefined),
    ...(local && !hasKeys ? { credentials: { accessKeyId: 'verso', secretAccessKey: 'verso' } } : {}),
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 2000,
      requestTimeout: 5000,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new Agent(agentOptions)
    })
  })
}
