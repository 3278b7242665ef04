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

/** DynamoDB calls made through a client, by operation (`QueryCommand`: 3), counted by an SDK middleware. */
export type CallCounts = Record<string, number>

/**
 * Counts every call the client makes, by command, from now on. The round-trip contract (DESIGN §2) is tested
 * with it, and the benchmark reports calls per operation with it.
 */
export function countCalls (client: DynamoDBClient): CallCounts {
  const counts: CallCounts = {}
  client.middlewareStack.add((next, context) => async (args) => {
    const name = context.commandName ?? 'unknown'
    counts[name] = (counts[name] ?? 0) + 1
    return await next(args)
  }, { step: 'initialize', name: `versoCallCounter${Math.random().toString(36).slice(2)}` })
  return counts
}
