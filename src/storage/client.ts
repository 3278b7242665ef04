import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { userAgentMiddleware } from '@aws-sdk/core/client'
import type { BuildMiddleware, FinalizeRequestMiddleware, HeaderBag, HttpRequest, RequestSigner } from '@smithy/types'
import { abortError, boundedCall, startAttempt, startBounded, type Deadline } from './deadline.js'
import { UndiciHandler } from './undici-handler.js'

export interface DynamoSettings {
  /** DynamoDB-compatible endpoint; undefined means real AWS through the default credential chain. */
  endpoint?: string
  region?: string
  /** Most time one attempt may take to connect (default 2 s) and to get an answer (default 5 s); retried past them. */
  connectTimeoutMs?: number
  requestTimeoutMs?: number
}

/**
 * One client per process, for every DynamoDB call it makes (API, relay, tables, health). Against a custom
 * endpoint (DynamoDB Local) verso supplies a region and dummy credentials when none are configured, because
 * the emulator accepts any. Its transport (UndiciHandler) fails an attempt that cannot connect within 2 s or
 * gets no answer within 5 s, so an unreachable DynamoDB turns into a 503 instead of a hanging request or relay;
 * the SDK's standard retry strategy retries throttling and transient errors with backoff (3 attempts).
 *
 * `cacheMiddleware`: the SDK resolves each command's middleware stack once instead of on every `send`. It
 * applies only to calls sent without per-call options, which is why a request's deadline is looked up by the
 * call's input (boundedSender, enforceDeadlines).
 */
export function createDynamoClient (settings: DynamoSettings): DynamoDBClient {
  const local = settings.endpoint !== undefined
  const hasKeys = process.env.AWS_ACCESS_KEY_ID !== undefined && process.env.AWS_ACCESS_KEY_ID !== ''
  const client = new DynamoDBClient({
    ...(local ? { endpoint: settings.endpoint } : {}),
    region: settings.region ?? (local ? 'us-east-1' : undefined),
    ...(local && !hasKeys ? { credentials: { accessKeyId: 'verso', secretAccessKey: 'verso' } } : {}),
    maxAttempts: 3,
    cacheMiddleware: true,
    requestHandler: new UndiciHandler({ connectTimeoutMs: settings.connectTimeoutMs ?? 2000, requestTimeoutMs: settings.requestTimeoutMs ?? 5000, connections: 256 })
  })
  plainConfig(client)
  userAgentOncePerCommand(client)
  if (process.env.AWS_LAMBDA_FUNCTION_NAME === undefined || process.env.AWS_LAMBDA_FUNCTION_NAME === '') {
    // It only carries a Lambda invocation's trace id to the calls the function makes.
    client.middlewareStack.remove('recursionDetectionMiddleware')
  }
  enforceDeadlines(client)
  forgetCachedStacksOnChange(client)
  return client
}

/**
 * Twice per call the SDK spreads the client's config into a new object only to read a few values: to resolve
 * the endpoint, and to build the SigV4 signer it makes anew for every call. That config is in V8's dictionary
 * mode (it grows by Object.assign past V8's limit for fast objects) and its `credentials` is an accessor, so each
 * spread took ~12 µs here against ~0.4 µs for a plain copy. Endpoint resolution gets a plain copy (its values
 * never change once the client is built) and the signer is built once per auth scheme. The SDK's object stays
 * with the middlewares that write to it (signing region and name, clock-skew offset) and with the serializers:
 * given the copy, those made verso slower (6x the full GCs under the same load; docs/performance.md). So
 * `client.config.credentials = …` later would not reach signing: verso never replaces its credentials.
 */
function plainConfig (client: DynamoDBClient): void {
  const sdk = client.config
  const buildSigner = sdk.signer.bind(sdk)
  const signers = new Map<string, Promise<RequestSigner>>()
  sdk.signer = async (authScheme) => {
    // What the SDK's signer reads of the auth scheme. A SignatureV4 keeps nothing of one call for the next and
    // asks the credential provider at every signing, so expiring credentials are still refreshed.
    const key = `${authScheme?.name ?? ''} ${authScheme?.signingName ?? ''} ${authScheme?.signingRegion ?? ''}`
    let signer = signers.get(key)
    if (signer === undefined) {
      signer = buildSigner(authScheme)
      signers.set(key, signer)
      signer.catch(() => { signers.delete(key) })
    }
    return await signer
  }
  const plain = { ...sdk }
  // Each command's endpoint middleware is given client.config when the command is first sent.
  Object.assign(client, { config: plain })
}

/**
 * The SDK builds its User-Agent headers anew on every call (its sections, escaped, and the features used),
 * ~35 µs a call here; they come out the same for every call of one command. The SDK's own middleware
 * computes them for a command's first call, and its later calls reuse them (with cacheMiddleware, a
 * command's middleware is built once).
 */
function userAgentOncePerCommand (client: DynamoDBClient): void {
  const sdk = userAgentMiddleware(client.config)
  const reuse: BuildMiddleware<object, object> = (next, context) => {
    let headers: HeaderBag | undefined
    const first = sdk(async (args) => {
      const { 'user-agent': userAgent, 'x-amz-user-agent': amzUserAgent } = (args.request as HttpRequest).headers
      headers = { ...(userAgent === undefined ? {} : { 'user-agent': userAgent }), ...(amzUserAgent === undefined ? {} : { 'x-amz-user-agent': amzUserAgent }) }
      return await next(args)
    }, context)
    return async (args) => {
      if (headers === undefined) return await first(args)
      Object.assign((args.request as HttpRequest).headers, headers)
      return await next(args)
    }
  }
  client.middlewareStack.remove('getUserAgentMiddleware')
  client.middlewareStack.add(reuse as never, { step: 'build', priority: 'low', tags: ['SET_USER_AGENT', 'USER_AGENT'], name: 'versoUserAgent', override: true })
}

/**
 * Holds each call sent through boundedSender to its deadline, found by the call's input (with cacheMiddleware the
 * context object is shared by every call of one command, so nothing per call can live there). At the deadline
 * the call fails with an AbortError, even while the SDK waits out a retry backoff or Retry-After; the running
 * attempt is aborted by the transport, and an attempt the SDK starts after the deadline fails in the transport
 * before anything is sent (an AbortError, which the SDK does not retry).
 */
function enforceDeadlines (client: DynamoDBClient): void {
  // Innermost at initialize, so that observers (observeCalls) see the call end at its deadline.
  client.middlewareStack.add((next) => async (args) => {
    const call = boundedCall(args.input)
    if (call === undefined) return await next(args)
    const { deadline } = call
    if (deadline.expired) throw abortError(call.attempts)
    return await new Promise((resolve, reject) => {
      const stop = deadline.whenExpired(() => { reject(abortError(call.attempts)) })
      next(args).then((result) => {
        stop()
        resolve(result)
      }, (error: unknown) => {
        stop()
        reject(error)
      })
    })
  }, { step: 'initialize', priority: 'low', name: 'versoDeadline' })
  // After signing: the request the transport gets, one per attempt.
  const attempt: FinalizeRequestMiddleware<object, object> = (next) => async (args) => {
    const call = boundedCall(args.input)
    if (call !== undefined) startAttempt(args.request as HttpRequest, call)
    return await next(args)
  }
  client.middlewareStack.addRelativeTo(attempt as never, { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'versoAttemptDeadline' })
}

/**
 * With cacheMiddleware the SDK keeps each command's resolved stack until `destroy()`, so middleware added or
 * removed later (observeCalls, metrics, tests) would be missed by commands already sent. Any change to the
 * stack drops the cache, as the SDK itself does when a call comes with options; the stacks are resolved anew.
 */
function forgetCachedStacksOnChange (client: DynamoDBClient): void {
  const stack = client.middlewareStack as unknown as Record<string, (...args: unknown[]) => unknown>
  for (const method of ['add', 'addRelativeTo', 'remove', 'removeByTag']) {
    const change = stack[method]?.bind(stack)
    if (change === undefined) continue
    stack[method] = (...args) => {
      delete (client as unknown as { handlers?: unknown }).handlers
      return change(...args)
    }
  }
}

/** What the repositories need of a DynamoDB client: its `send`. */
export type DynamoSender = Pick<DynamoDBClient, 'send'>

/**
 * `client`, with every call sent through it aborted once `deadline` passes: the SDK then stops its retries
 * too, and the call fails with an AbortError (mapStorageError: 503 VERSO_STORAGE_TIMEOUT). The deadline is
 * recorded for the command's input, not passed as a per-call option, so that the client's cached middleware
 * stack serves the call; an input object already sent under another deadline takes an AbortSignal option
 * (uncached) instead.
 */
export function boundedSender (client: DynamoSender, deadline: Deadline): DynamoSender {
  const send = async (command: { input: object }, options?: object): Promise<unknown> => options === undefined && startBounded(command.input, deadline)
    ? await client.send(command as never)
    : await sendWithSignal(client, command, options, deadline)
  return { send: send as DynamoSender['send'] }
}

/** The rare call that cannot be found by its input: an AbortSignal option that fires at `deadline`, until the call ends. */
async function sendWithSignal (client: DynamoSender, command: { input: object }, options: object | undefined, deadline: Deadline): Promise<unknown> {
  if (deadline.expired) return await client.send(command as never, { ...options, abortSignal: AbortSignal.abort() })
  const controller = new AbortController()
  const stop = deadline.whenExpired(() => { controller.abort() })
  try {
    return await client.send(command as never, { ...options, abortSignal: controller.signal })
  } finally {
    stop()
  }
}

/** DynamoDB calls made through a client, by operation (`QueryCommand`: 3), counted by an SDK middleware. */
export type CallCounts = Record<string, number>

/**
 * Counts every call the client makes, by command, from now on. The round-trip contract (docs/guarantees.md) is tested
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
