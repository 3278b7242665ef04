import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'pino'

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace a request belongs to. Each request gets a
 * span id of its own, under the caller's trace when a valid `traceparent` came in, under a new trace otherwise;
 * with tracing on (src/telemetry) the request's exported span has these very ids. The request's log lines carry `trace_id`
 * and `span_id`, and the change events it commits carry `traceparent` (CloudEvents distributed-tracing extension).
 */
export class TraceContext {
  constructor (
    readonly traceId: string,
    readonly spanId: string,
    /** The caller's span (the parent-id of the `traceparent` received); undefined when verso started the trace. */
    readonly parentSpanId: string | undefined,
    /** Whether the trace is recorded: the caller's flag, or the sampler's decision when tracing is on (src/telemetry). */
    public sampled: boolean
  ) {}

  /** This request's span as a version-00 `traceparent`: what verso hands on to the events it writes. */
  get traceparent (): string {
    return `00-${this.traceId}-${this.spanId}-${this.sampled ? '01' : '00'}`
  }
}

/** Lowercase hex at 0-1, 3-34, 36-51, 53-54 and dashes at 2, 35, 52 (checked on every request: a loop, no regex). */
function wellFormed (header: string): boolean {
  for (let i = 0; i < 55; i++) {
    const c = header.charCodeAt(i)
    if (i === 2 || i === 35 || i === 52) {
      if (c !== 45) return false
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) {
      return false
    }
  }
  return true
}

const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/**
 * The caller's trace from a `traceparent` header, or undefined when the header is absent or not valid by
 * the W3C rules: lowercase hex only, version `ff` forbidden, version 00 exactly 55 characters, a later
 * version at least that with a `-` after the four known fields, trace-id and parent-id not all zeros.
 * Several `traceparent` headers (joined with ", ") are invalid too.
 */
export function parseTraceparent (header: string | undefined): { traceId: string, parentId: string, sampled: boolean } | undefined {
  if (header === undefined || header.length < 55 || !wellFormed(header)) return undefined
  const version = header.slice(0, 2)
  if (version === 'ff') return undefined
  if (version === '00' ? header.length !== 55 : header.length > 55 && header[55] !== '-') return undefined
  const traceId = header.slice(3, 35)
  const parentId = header.slice(36, 52)
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined
  // Only the sampled flag (the low bit of the flags' second hex digit) is handed on: verso writes version 00,
  // where the other bits are not defined.
  const digit = header.charCodeAt(54)
  return { traceId, parentId, sampled: ((digit <= 57 ? digit - 48 : digit - 87) & 1) === 1 }
}

/** Random hex ids cut from a pooled string of random hex: one randomBytes call per few hundred requests. */
let pool = ''
let offset = 0
function randomHex (length: number, zero: string): string {
  if (offset + length > pool.length) {
    pool = randomBytes(4096).toString('hex')
    offset = 0
  }
  const hex = pool.slice(offset, offset + length)
  offset += length
  return hex === zero ? randomHex(length, zero) : hex
}

/**
 * The trace of a request. Without a valid incoming `traceparent` verso starts a trace (not sampled, unless
 * tracing is on and its sampler records it), so that the logs and the events of every write still share a trace id.
 */
export function traceOf (header: string | string[] | undefined): TraceContext {
  const parent = typeof header === 'string' ? parseTraceparent(header) : undefined
  const spanId = randomHex(16, ZERO_SPAN)
  return parent === undefined
    ? new TraceContext(randomHex(32, ZERO_TRACE), spanId, undefined, false)
    : new TraceContext(parent.traceId, spanId, parent.parentId, parent.sampled)
}

const kTrace = Symbol('verso.trace')
type Traced = IncomingMessage & { [kTrace]?: TraceContext }

/**
 * fastify's `childLoggerFactory`: the request's child logger, made once per request by fastify anyway, gets
 * the trace bindings too, so every line of the request (the "incoming request" line included) carries them.
 * The trace is kept on the raw request for `request.trace`.
 */
export function traceChildLogger (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions, raw: IncomingMessage): FastifyBaseLogger {
  const trace = traceOf(raw.headers.traceparent)
  ;(raw as Traced)[kTrace] = trace
  bindings.trace_id = trace.traceId
  bindings.span_id = trace.spanId
  if (trace.parentSpanId !== undefined) bindings.parent_span_id = trace.parentSpanId
  return logger.child(bindings, options)
}

/** `request.trace`, as traceChildLogger recorded it (a fresh trace if it somehow did not run). */
export function requestTrace (raw: IncomingMessage): TraceContext {
  const traced = raw as Traced
  traced[kTrace] ??= traceOf(raw.headers.traceparent)
  return traced[kTrace]
}
