import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span, type Tracer } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace-base'
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { routingKeyOf, type OutboxRecord, type Outcome } from '../outbox/publishers/publisher.js'
import { parseTraceparent, type TraceContext } from '../http/trace-context.js'

/**
 * Span ids of verso's own choosing: a request's span takes the ids verso already gave the request
 * (src/http/trace-context.ts), so the `span_id` of its log lines and the `traceparent` of its events name the
 * span that was exported. Spans are started synchronously, so the ids set for one `startSpan` cannot leak.
 */
class ChosenIds implements IdGenerator {
  chosen: TraceContext | undefined
  private readonly random = new RandomIdGenerator()
  generateTraceId (): string { return this.chosen?.traceId ?? this.random.generateTraceId() }
  generateSpanId (): string { return this.chosen?.spanId ?? this.random.generateSpanId() }
}

/** The tables a DynamoDB command names (TableName, RequestItems, TransactItems). */
function tableNames (input: unknown): string[] {
  const names = new Set<string>()
  const { TableName, RequestItems, TransactItems } = input as { TableName?: string, RequestItems?: Record<string, unknown>, TransactItems?: Array<Record<string, { TableName?: string } | undefined>> }
  if (TableName !== undefined) names.add(TableName)
  for (const name of Object.keys(RequestItems ?? {})) names.add(name)
  for (const item of TransactItems ?? []) {
    for (const op of Object.values(item)) if (op?.TableName !== undefined) names.add(op.TableName)
  }
  return [...names]
}

/** A `traceparent` as the remote parent of a span (the caller of a request, the request of an event). */
function remoteParent (traceId: string, spanId: string, sampled: boolean): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true })
}

/** Tracing when configured: the tracer, its exporter, and what the plugin and the relay need of them. */
export class Tracing {
  readonly tracer: Tracer
  constructor (private readonly provider: BasicTracerProvider, private readonly ids: ChosenIds) {
    this.tracer = provider.getTracer('verso')
  }

  /**
   * Starts the span of a request under the caller's span (when a valid `traceparent` came in) with the ids the
   * request already has. The sampler's decision is written back into `trace.sampled`, so that the events the
   * request commits say whether their parent span was recorded.
   */
  startRequestSpan (name: string, request: TraceContext, attributes: Record<string, string | number>): { span: Span, context: Context } {
    const parent = request.parentSpanId === undefined ? ROOT_CONTEXT : remoteParent(request.traceId, request.parentSpanId, request.sampled)
    this.ids.chosen = request
    let span: Span
    try {
      span = this.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent)
    } finally {
      this.ids.chosen = undefined
    }
    request.sampled = (span.spanContext().traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED
    return { span, context: trace.setSpan(parent, span) }
  }

  /** Ends a span as failed by `err` (recorded as an exception event). */
  endFailed (span: Span, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err))
    span.recordException(error)
    span.setAttribute(ATTR_ERROR_TYPE, error.name)
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
    span.end()
  }

  /** Ends a request's span with its answer's status; an error only when verso failed (5xx), a 4xx is the caller's. */
  endRequestSpan (span: Span, statusCode: number): void {
    span.setAttribute('http.response.status_code', statusCode)
    if (statusCode >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(statusCode))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
    span.end()
  }

  /** Runs `fn` with `active` as the active context (and in what it awaits). */
  within<T>(active: Context, fn: () => T): T {
    return context.with(active, fn)
  }

  /** The parent of a span for work done for an event (its `traceparent`), the root context without one. */
  eventContext (traceparent: string | undefined): Context {
    const parent = parseTraceparent(traceparent)
    return parent === undefined ? ROOT_CONTEXT : remoteParent(parent.traceId, parent.parentId, parent.sampled)
  }

  /**
   * A span per DynamoDB call (one per command, retries included), as an SDK middleware. Only calls made inside
   * a traced request get one: the relay's polling would otherwise fill the traces with a root span per poll.
   */
  traceDynamo (client: DynamoDBClient): void {
    client.middlewareStack.add((next, { commandName }) => async (args) => {
      const parent = context.active()
      if (trace.getSpan(parent) === undefined) return await next(args)
      const operation = (commandName ?? 'Unknown').replace(/Command$/, '')
      const span = this.tracer.startSpan(`DynamoDB.${operation}`, {
        kind: SpanKind.CLIENT,
        attributes: { 'rpc.system': 'aws-api', 'rpc.service': 'DynamoDB', 'rpc.method': operation, 'db.system.name': 'aws.dynamodb', 'aws.dynamodb.table_names': tableNames(args.input) }
      }, parent)
      try {
        const result = await context.with(trace.setSpan(parent, span), async () => await next(args))
        const requestId = (result.output as { $metadata?: { requestId?: string } }).$metadata?.requestId
        if (requestId !== undefined) span.setAttribute('aws.request_id', requestId)
        span.end()
        return result
      } catch (err) {
        this.endFailed(span, err)
        throw err
      }
    }, { step: 'initialize', name: 'versoTracing', override: true })
  }

  /**
   * A PRODUCER span per event handed to the publisher, child of the span that committed the event (its
   * `traceparent`). A batch is published in one call, so each span lasts from the batch's start to its end.
   */
  publishSpans (publisher: string, records: readonly OutboxRecord[], outcomes: readonly Outcome[], startTime: number): void {
    for (const [i, record] of records.entries()) {
      const destination = routingKeyOf(record.type)
      const span = this.tracer.startSpan(`publish ${destination}`, {
        kind: SpanKind.PRODUCER,
        startTime,
        attributes: {
          // The semantic conventions' names of the systems; a webhook has none, so it keeps verso's.
          'messaging.system': publisher === 'sqs' ? 'aws_sqs' : publisher,
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'publish',
          'messaging.destination.name': destination,
          'messaging.message.id': record.eventId,
          'cloudevents.event_id': record.eventId,
          'cloudevents.event_type': record.type,
          'cloudevents.event_subject': record.entityId
        }
      }, this.eventContext(record.traceparent))
      const outcome = outcomes[i]
      if (outcome !== undefined && outcome.status !== 'ok') {
        span.setAttribute(ATTR_ERROR_TYPE, outcome.status)
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.reason })
      }
      span.end()
    }
  }

  /** Exports the spans ended so far (at close, and by tests). */
  async flush (): Promise<void> {
    await this.provider.forceFlush()
  }
}

/**
 * Starts tracing from the standard OTEL_* variables, which the SDK reads itself: the OTLP/HTTP exporter
 * (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _HEADERS, _TIMEOUT), the sampler (OTEL_TRACES_SAMPLER[_ARG]), the batch
 * processor (OTEL_BSP_*), the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES; service.name "verso"
 * when unset).
 */
export function startTracing (): Tracing {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'verso' }))
    .merge(detectResources({ detectors: [envDetector] }))
  const ids = new ChosenIds()
  const provider = new BasicTracerProvider({ resource, idGenerator: ids, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] })
  // The active span follows the request through its awaits (the DynamoDB calls find their parent there).
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  trace.setGlobalTracerProvider(provider)
  return new Tracing(provider, ids)
}
