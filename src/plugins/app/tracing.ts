import fp from 'fastify-plugin'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { FastifyRequest } from 'fastify'
import { tracing } from '../../telemetry/tracing.js'
import type { Span, Context } from '@opentelemetry/api'

const kSpan = Symbol('verso.span')
type Spanned = FastifyRequest & { [kSpan]?: { span: Span, context: Context } }

/**
 * OpenTelemetry spans (src/telemetry) when OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set: one SERVER span per
 * request, with the ids the request already has, and one CLIENT span per DynamoDB call under it. Without that
 * configuration this registers nothing and loads no OpenTelemetry module.
 */
export default fp<{ dynamo: DynamoDBClient }>(async (app, options) => {
  const traced = await tracing()
  if (traced === undefined) return
  traced.traceDynamo(options.dynamo)

  // Callback hooks: the rest of the request runs inside `context.with`. Entered twice, because reading the
  // body runs in the socket's async context and would lose it; preHandler puts it back for the handler.
  app.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url
    const started = traced.startRequestSpan(route === undefined ? request.method : `${request.method} ${route}`, request.trace, {
      'http.request.method': request.method,
      'url.path': request.url.split('?', 1)[0] ?? '/',
      'url.scheme': request.protocol,
      ...(route === undefined ? {} : { 'http.route': route }),
      ...(request.headers['user-agent'] === undefined ? {} : { 'user_agent.original': request.headers['user-agent'] }),
      'client.address': request.ip,
      'http.request.id': request.id
    })
    ;(request as Spanned)[kSpan] = started
    traced.within(started.context, done)
  })
  app.addHook('preHandler', (request, reply, done) => {
    const started = (request as Spanned)[kSpan]
    if (started === undefined) done()
    else traced.within(started.context, done)
  })
  /** The request's span, once: whichever of onResponse and onRequestAbort comes first ends it. */
  const take = (request: FastifyRequest): Span | undefined => {
    const started = (request as Spanned)[kSpan]
    ;(request as Spanned)[kSpan] = undefined
    return started?.span
  }
  app.addHook('onResponse', async (request, reply) => {
    const span = take(request)
    if (span !== undefined) traced.endRequestSpan(span, reply.statusCode)
  })
  app.addHook('onRequestAbort', async (request) => {
    const span = take(request)
    if (span !== undefined) traced.endFailed(span, new Error('client closed the connection before the answer'))
  })
  app.addHook('onClose', async () => { await traced.flush() })
}, { name: 'tracing', dependencies: ['trace-context'] })
