import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

/** One span as it arrived over OTLP/HTTP (JSON encoding), with its resource's attributes flattened. */
export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes: Record<string, unknown>
  status: { code?: number, message?: string }
  events: Array<{ name: string }>
  resource: Record<string, unknown>
}

type AnyValue = { stringValue?: string, intValue?: string | number, boolValue?: boolean, doubleValue?: number, arrayValue?: { values?: AnyValue[] } }
const valueOf = (v: AnyValue): unknown => v.stringValue ?? (v.intValue === undefined ? undefined : Number(v.intValue)) ?? v.boolValue ?? v.doubleValue ?? v.arrayValue?.values?.map(valueOf)
const attributesOf = (list: Array<{ key: string, value: AnyValue }> = []): Record<string, unknown> => Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]))

/**
 * A real OTLP/HTTP receiver: a node:http server accepting POST /v1/traces in the JSON encoding (what
 * @opentelemetry/exporter-trace-otlp-http sends), decoding every span that arrives.
 */
export async function startReceiver (t: Test): Promise<{ url: string, spans: ReceivedSpan[], requests: Array<{ path: string, contentType: string | undefined }> }> {
  const spans: ReceivedSpan[] = []
  const requests: Array<{ path: string, contentType: string | undefined }> = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push({ path: req.url ?? '', contentType: req.headers['content-type'] })
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end()
        return
      }
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans?: Array<{ resource?: { attributes?: [] }, scopeSpans?: Array<{ spans?: any[] }> }> }
      for (const rs of body.resourceSpans ?? []) {
        const resource = attributesOf(rs.resource?.attributes)
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId === undefined || s.parentSpanId === '' ? {} : { parentSpanId: s.parentSpanId }),
              name: s.name,
              kind: s.kind,
              attributes: attributesOf(s.attributes),
              status: s.status ?? {},
              events: s.events ?? [],
              resource
            })
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, requests }
}
