import t, { type Test } from 'tap'
import { parseTraceparent, traceOf } from '../../src/http/trace-context.js'
import { json, setup, type TestContext } from '../support/helper.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'
const VALID = `00-${TRACE}-${PARENT}-01`

t.test('traceparent parsing follows the W3C rules', async (t) => {
  t.same(parseTraceparent(VALID), { traceId: TRACE, parentId: PARENT, sampled: true })
  t.same(parseTraceparent(`00-${TRACE}-${PARENT}-00`), { traceId: TRACE, parentId: PARENT, sampled: false })
  t.same(parseTraceparent(`00-${TRACE}-${PARENT}-03`)?.sampled, true, 'unknown flag bits are ignored')
  t.same(parseTraceparent(`00-${TRACE}-${PARENT}-0a`)?.sampled, false, '0a: sampled bit clear')
  t.same(parseTraceparent(`00-${TRACE}-${PARENT}-ff`)?.sampled, true, 'ff: sampled bit set')
  t.same(parseTraceparent(`00-${TRACE}-${PARENT}-02`)?.sampled, false, '02 (random flag only): not sampled')
  t.same(parseTraceparent(`01-${TRACE}-${PARENT}-01-what-the-future-holds`), { traceId: TRACE, parentId: PARENT, sampled: true }, 'a later version with more fields')
  t.same(parseTraceparent(`01-${TRACE}-${PARENT}-01`)?.traceId, TRACE, 'a later version with just the four fields')
  const invalid: Record<string, string | undefined> = {
    absent: undefined,
    empty: '',
    garbage: 'not a traceparent',
    'upper case': VALID.toUpperCase(),
    'version ff': `ff-${TRACE}-${PARENT}-01`,
    'zero trace id': `00-${'0'.repeat(32)}-${PARENT}-01`,
    'zero parent id': `00-${TRACE}-${'0'.repeat(16)}-01`,
    'version 00 with more': `${VALID}-extra`,
    'later version, no dash after the fields': `01-${TRACE}-${PARENT}-01x`,
    'short trace id': `00-${TRACE.slice(1)}-${PARENT}-01`,
    'non-hex': `00-${TRACE.slice(1)}g-${PARENT}-01`,
    'two headers joined': `${VALID}, ${VALID}`,
    'wrong separators': VALID.replaceAll('-', '_')
  }
  for (const [what, header] of Object.entries(invalid)) t.equal(parseTraceparent(header), undefined, what)
})

t.test('verso takes part in the trace with a span of its own', async (t) => {
  const joined = traceOf(VALID)
  t.equal(joined.traceId, TRACE)
  t.equal(joined.parentSpanId, PARENT)
  t.match(joined.spanId, /^[0-9a-f]{16}$/)
  t.not(joined.spanId, PARENT, 'a new span id')
  t.equal(joined.traceparent, `00-${TRACE}-${joined.spanId}-01`, 'the sampled flag is handed on')

  const started = traceOf(undefined)
  t.match(started.traceId, /^[0-9a-f]{32}$/)
  t.equal(started.parentSpanId, undefined)
  t.equal(started.traceparent, `00-${started.traceId}-${started.spanId}-00`, 'a trace verso starts is not sampled')
  t.ok(parseTraceparent(started.traceparent), 'and valid')
  const ids = new Set(Array.from({ length: 2000 }, () => traceOf(undefined).traceId))
  t.equal(ids.size, 2000, 'new trace ids do not repeat')
  t.not(traceOf([VALID, VALID]).traceId, TRACE, 'several traceparent headers are ignored')
})

interface LogLine { reqId?: string, trace_id?: string, span_id?: string, parent_span_id?: string, msg?: string }

async function tracedApp (t: Test): Promise<{ ctx: TestContext, lines: LogLine[] }> {
  const lines: LogLine[] = []
  const ctx = await setup(t, { logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } } } })
  return { ctx, lines }
}

t.test('a valid traceparent: on every log line of the request and on the change event', async (t) => {
  const { ctx, lines } = await tracedApp(t)
  const res = await ctx.app.inject({ method: 'POST', url: '/person', headers: { traceparent: VALID }, payload: { first_name: 'Ada', last_name: 'Lovelace' } })
  t.equal(res.statusCode, 201)
  const mine = lines.filter((l) => l.reqId === res.headers['x-request-id'])
  t.ok(mine.length >= 2, 'the request logged (incoming request, request completed)')
  t.ok(mine.some((l) => l.msg === 'incoming request'), 'the first line too')
  t.ok(mine.every((l) => l.trace_id === TRACE && l.parent_span_id === PARENT && /^[0-9a-f]{16}$/.test(l.span_id ?? '')), 'trace_id, span_id and parent_span_id on each line')
  const spanId = mine[0]?.span_id

  const [event] = await ctx.events(String(json(res).entity_id))
  t.equal(event?.traceparent, `00-${TRACE}-${String(spanId)}-01`, 'the event carries the trace: same trace id, verso\'s span')
  const [item] = await ctx.scan(ctx.outbox)
  t.equal(item?.traceparent, event?.traceparent, 'and so does the outbox item, for transport headers')

  // Every write carries it: an update too.
  const created = json(res)
  const updated = await ctx.app.inject({ method: 'PATCH', url: `/person/${String(created.entity_id)}`, headers: { 'if-match': `"${String(created.version)}"`, traceparent: `00-${'a'.repeat(32)}-${PARENT}-00` }, payload: { age: 36 } })
  t.equal(updated.statusCode, 200)
  const events = await ctx.events(String(created.entity_id))
  t.match(events[1]?.traceparent, new RegExp(`^00-${'a'.repeat(32)}-[0-9a-f]{16}-00$`))
})

t.test('an invalid traceparent is ignored, not refused: verso starts a trace', async (t) => {
  const { ctx, lines } = await tracedApp(t)
  const bad = `00-${TRACE.toUpperCase()}-${PARENT}-01`
  const res = await ctx.app.inject({ method: 'POST', url: '/person', headers: { traceparent: bad }, payload: { first_name: 'Ada', last_name: 'Lovelace' } })
  t.equal(res.statusCode, 201, 'no 400')
  const mine = lines.filter((l) => l.reqId === res.headers['x-request-id'])
  const traceId = mine[0]?.trace_id
  t.match(traceId, /^[0-9a-f]{32}$/)
  t.not(traceId, TRACE)
  t.ok(mine.every((l) => l.trace_id === traceId && l.parent_span_id === undefined), 'one new trace, no parent')
  const [event] = await ctx.events(String(json(res).entity_id))
  t.equal(event?.traceparent, `00-${String(traceId)}-${String(mine[0]?.span_id)}-00`, 'the event is in the trace of the logs')
})

t.test('no traceparent: each request gets a trace of its own', async (t) => {
  const { ctx, lines } = await tracedApp(t)
  const a = await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'A', last_name: 'A' } })
  const b = await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'B', last_name: 'B' } })
  const traceOfRequest = (res: typeof a): string | undefined => lines.find((l) => l.reqId === res.headers['x-request-id'])?.trace_id
  t.not(traceOfRequest(a), traceOfRequest(b))
  const [event] = await ctx.events(String(json(a).entity_id))
  t.match(event?.traceparent, new RegExp(`^00-${String(traceOfRequest(a))}-[0-9a-f]{16}-00$`))
})
