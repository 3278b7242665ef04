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

/** What the repositories need of a DynamoDB client: its `send`. */
export type DynamoSender = Pick<DynamoDBClient, 'send'>

/**
 * `client`, with every call sent through it aborted once `signal` fires: the SDK then stops its retries too,
 * and the call fails with an AbortError (mapStorageError: 503 VERSO_STORAGE_TIMEOUT).
 */
export function boundedSender (client: DynamoSender, signal: AbortSignal): DynamoSender {
  const send = async (command: never, options?: object): Promise<unknown> => await client.send(command, { ...options, abortSignal: signal })
  return { send: send as DynamoSender['send'] }
}

/** DynamoDB calls made through a client, by operation (`QueryCommand`: 3), counted by an SDK middleware. */
export type CallCounts = Record<string, number>

/**
 * Counts every call the client makes, by command, from now on. The round-trip contract (DESIGN §2) is tested
 * with it, and the benchmark reports calls per operation with it.
 */
export function countCalls (client: DynamoDBClient): CallCounts {
  const counts: CallCounts = {}
  observeCalls(client, ({ command }) => { counts[command] = (counts[command] ?? 0) + 1 })
  return counts
}

/** One finished DynamoDB call, as observeCalls reports it. */
export interface ObservedCall {
  /** `GetItemCommand`, `TransactWriteItemsCommand`, … */
  command: string
  /** The command's input (for a TransactWriteItems: which tables its items write). */
  input: unknown
  /** From the send to the answer, the SDK's retries included. */
  seconds: number
  /** HTTP attempts the SDK made (more than 1: it retried throttling or a transient error). */
  attempts: number
  /** The error the call ended with; undefined when it succeeded. */
  error: unknown
}

/**
 * Reports every call the client makes from now on, once it has finished, to `observer` (an SDK middleware at
 * the initialize step, so the time includes the SDK's retries). Returns a function that stops the reports.
 */
export function observeCalls (client: DynamoDBClient, observer: (call: ObservedCall) => void): () => void {
  const name = `versoCallObserver${Math.random().toString(36).slice(2)}`
  client.middlewareStack.add((next, context) => async (args) => {
    const started = performance.now()
    const command = context.commandName ?? 'unknown'
    try {
      const result = await next(args)
      const { $metadata } = result.output as { $metadata?: { attempts?: number } }
      observer({ command, input: args.input, seconds: (performance.now() - started) / 1000, attempts: $metadata?.attempts ?? 1, error: undefined })
      return result
    } catch (error) {
      const attempts = (error as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts ?? 1
      observer({ command, input: args.input, seconds: (performance.now() - started) / 1000, attempts, error })
      throw error
    }
  }, { step: 'initialize', name })
  return () => { client.middlewareStack.remove(name) }
}
