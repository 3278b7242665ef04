import { randomUUID } from 'node:crypto'
import type { IncomingMessage, Server } from 'node:http'
import type { FastifyHttpOptions, FastifyServerOptions } from 'fastify'
import { clientErrorHandler, frameworkErrors } from './problem.js'
import { traceChildLogger } from './trace-context.js'

export interface ServerLimits {
  bodyLimit: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  headersTimeoutMs: number
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The caller's x-request-id when it is 1-128 of A-Z a-z 0-9 . _ : -, else a new UUID. */
export function requestId (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

/** fastify's server options: limits and timeouts, request ids, trace-aware request loggers, problems before routing. */
export function serverOptions (limits: ServerLimits, logger: FastifyServerOptions['logger']): FastifyHttpOptions<Server> {
  return {
    logger,
    bodyLimit: limits.bodyLimit,
    requestTimeout: limits.requestTimeoutMs,
    // Longer than a load balancer's idle timeout (60 s on AWS ALB), so the balancer closes idle connections
    // first and never sends a request down one verso is closing.
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      // Node checks the two timeouts above every 30 s by default, which would let them overrun by as much.
      connectionsCheckingInterval: 1000,
      // Node would answer a request without Host with a bare 400; src/plugins/app/require-host.ts answers a problem.
      requireHostHeader: false
    },
    requestIdHeader: false,
    // Each request's logger carries its trace ids (W3C traceparent), made in the same child() fastify makes anyway.
    childLoggerFactory: traceChildLogger,
    // A request that reached verso while it drains is served, not shed with fastify's non-problem 503.
    return503OnClosing: false,
    genReqId: requestId,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors raised before routing (a bad URL, an over-long parameter) are problems too.
    frameworkErrors,
    clientErrorHandler
  }
}
