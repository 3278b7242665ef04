import fp from 'fastify-plugin'
import { requestTrace, type TraceContext } from '../../http/trace-context.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** W3C trace context: the caller's `traceparent` when valid, else a new trace (src/http/trace-context.ts). */
    trace: TraceContext
  }
}

/** `request.trace`, as the child logger factory (traceChildLogger, in the server options) recorded it. */
export default fp(async (app) => {
  app.decorateRequest('trace', { getter () { return requestTrace(this.raw) } })
}, { name: 'trace-context' })
