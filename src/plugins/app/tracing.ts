import fp from 'fastify-plugin'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { FastifyReply, FastifyRequest } from 'fastify'
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
  const { endFailed } = await import('../../telemetry/sdk.js')
  const { context, SpanStatusCode } = await import('@opentelemetry/api')
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
    context.with(started.context, done)
  })
  app.addHook('preHandler', (request, reply, done) => {
    const started = (request as Spanned)[kSpan]
    if (started === undefined) done()
    else context.with(started.context, done)
  })
  const end = (request: FastifyRequest, reply: FastifyReply): void => {
    const started = (request as Spanned)[kSpan]
    if (started === undefined) return
    delete (request as Spanned)[kSpan]
    started.span.setAttribute('http.response.status_code', reply.statusCode)
    // A server span is an error only when verso failed (5xx); a 4xx is the caller's.
    if (reply.statusCode >= 500) {
      started.span.setAttribute('error.type', String(reply.statusCode))
      started.span.setStatus({ code: SpanStatusCode.ERROR })
    }
    started.span.end()
  }
  app.addHook('onResponse', async (request, reply) => { end(request, reply) })
  app.addHook('onRequestAbort', async (request) => {
    const started = (request as Spanned)[kSpan]
    if (started === undefined) return
    delete (request as Spanned)[kSpan]
    endFailed(started.span, new Error('client closed the connection before the answer'))
  })
  app.addHook('onClose', async () => { await traced.flush() })
}, { name: 'tracing' })
