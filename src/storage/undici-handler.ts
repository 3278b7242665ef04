import type { HeaderBag, HttpHandlerOptions, HttpRequest, HttpResponse, QueryParameterBag, RequestHandler, RequestHandlerOutput } from '@smithy/types'
import { Agent, type Dispatcher } from 'undici'
import { abortError, attemptDeadline, signalExpiry, type Expiry } from './deadline.js'

export interface UndiciHandlerOptions {
  /** Most time to open a connection; past it the attempt fails with a TimeoutError (retried). */
  connectTimeoutMs: number
  /** Most time to wait for the response's headers, and between two chunks of its body; past it: TimeoutError (retried). */
  requestTimeoutMs: number
  /** Keep-alive connections per origin. */
  connections: number
}

/** undici's timeouts, renamed to the error name the SDK's retry strategy treats as transient. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/**
 * The SDK's transport for verso's DynamoDB client: each attempt is one `dispatch` on a keep-alive undici pool,
 * and the response body is handed back whole (a Uint8Array, which the SDK uses as is instead of collecting a
 * stream). Written here rather than taken from `@smithy/undici-http-handler`, which hands back a stream the SDK
 * then collects: measured on this machine (2026-12-02, GetItem at concurrency 16, without cacheMiddleware) at
 * 0.95x the default client's CPU per call, against ~0.74x for this design.
 *
 * Errors keep what the SDK's retry strategy expects of its own handler: an abort is an `AbortError` (never
 * retried), a connect or response timeout a `TimeoutError` (retried), a connection the server closed under
 * us `ECONNRESET` (retried); ECONNREFUSED and DynamoDB's own errors pass through unchanged.
 * What ends an attempt early is the call's `abortSignal` option, or else the deadline boundedSender gave the call.
 */
export class UndiciHandler implements RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions> {
  readonly metadata = { handlerProtocol: 'http/1.1' }
  private readonly agent: Agent

  constructor (options: UndiciHandlerOptions) {
    this.agent = new Agent({
      connections: options.connections,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs
    })
  }

  async handle (request: HttpRequest, options?: HttpHandlerOptions): Promise<RequestHandlerOutput<HttpResponse>> {
    const signal = options?.abortSignal as AbortSignal | undefined
    const expiry: Expiry | undefined = signal === undefined ? attemptDeadline(request) : signalExpiry(signal)
    if (expiry?.expired === true) throw abortError(undefined, expiry.reason)
    return await new Promise((resolve, reject) => {
      this.agent.dispatch({
        origin: `${request.protocol}//${request.hostname}${request.port === undefined ? '' : `:${request.port}`}`,
        path: pathOf(request),
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body as Dispatcher.DispatchOptions['body']
      }, new Exchange(resolve, reject, expiry))
    })
  }

  /** Closes every pooled connection; calls still running fail. The SDK calls it from `client.destroy()`. */
  destroy (): void {
    this.agent.destroy().catch(() => {})
  }

  // The SDK's HttpHandler contract (runtime extensions may call them); this handler has nothing to configure later.
  updateHttpClientConfig (): void {}
  httpHandlerConfigs (): Record<string, never> { return {} }
}

/** One attempt: collects the response, and settles once, on its end, its error, or its expiry. */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined
  private settled = false
  private statusCode = 0
  private reason: string | undefined
  private headers: HeaderBag = {}
  private readonly chunks: Buffer[] = []
  private readonly stopWaiting: (() => void) | undefined

  constructor (
    private readonly resolve: (output: RequestHandlerOutput<HttpResponse>) => void,
    private readonly reject: (error: unknown) => void,
    private readonly expiry: Expiry | undefined
  ) {
    this.stopWaiting = expiry?.whenExpired(this.onAbort)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.controller = controller
    // Aborted while waiting for a connection: never send it.
    if (this.settled) controller.abort(abortError(undefined, this.expiry?.reason))
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    this.statusCode = statusCode
    this.reason = statusMessage
    const bag: HeaderBag = {}
    for (const name in headers) {
      const value = headers[name]
      if (value !== undefined) bag[name] = typeof value === 'string' ? value : value.join(', ')
    }
    this.headers = bag
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk)
  }

  onResponseEnd (): void {
    if (!this.settle()) return
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks)
    this.resolve({ response: { statusCode: this.statusCode, reason: this.reason, headers: this.headers, body } as HttpResponse })
  }

  onResponseError (_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settle()) this.reject(translate(error))
  }

  private readonly onAbort = (): void => {
    if (!this.settle()) return
    const error = abortError(undefined, this.expiry?.reason)
    this.controller?.abort(error)
    this.reject(error)
  }

  /** True the first time only. */
  private settle (): boolean {
    if (this.settled) return false
    this.settled = true
    this.stopWaiting?.()
    return true
  }
}

function pathOf (request: HttpRequest): string {
  const query = request.query === undefined ? '' : queryString(request.query)
  return query === '' ? request.path : `${request.path}?${query}`
}

/** The query as the SDK's own handler writes it (sorted keys, RFC 3986 escaping). DynamoDB sends none. */
function queryString (query: QueryParameterBag): string {
  const escape = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  const parts: string[] = []
  for (const key of Object.keys(query).sort()) {
    const value = query[key]
    if (Array.isArray(value)) for (const v of value) parts.push(`${escape(key)}=${escape(v)}`)
    else parts.push(typeof value === 'string' ? `${escape(key)}=${escape(value)}` : escape(key))
  }
  return parts.join('&')
}

function translate (error: Error): Error {
  const code = (error as { code?: string }).code
  if (code !== undefined && TIMEOUT_CODES.has(code)) return Object.assign(new Error(error.message, { cause: error }), { name: 'TimeoutError', code })
  // The server closed the connection (a keep-alive one it had dropped, or mid-response): what node:http reports as a socket hang up.
  if (code === 'UND_ERR_SOCKET') return Object.assign(new Error(error.message, { cause: error }), { code: 'ECONNRESET' })
  return error
}
