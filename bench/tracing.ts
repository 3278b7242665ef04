/**
 * `npx tsx bench/tracing.ts [--requests N] [--rounds R]`: verso's CPU per request with OpenTelemetry tracing off
 * and on. Starts DynamoDB Local and an OTLP/HTTP receiver (in this process), then, in alternating rounds, a
 * child process that builds the app, warms up, and serves N requests through `app.inject` (a create, a read
 * and an update of one entity, in turn), once without OTEL_* and once with OTEL_EXPORTER_OTLP_ENDPOINT set
 * (default sampler: every span recorded and exported). The child reports its own CPU time (process.cpuUsage)
 * from the first measured request to the last span exported, divided by N; the median of the rounds is printed.
 */
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs, promisify } from 'node:util'
import { startDynamoDbLocal } from '../src/embedded/dynamodb-local.js'
import { percentile } from './stats.js'

const { values } = parseArgs({ options: { requests: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '3' }, child: { type: 'boolean', default: false } } })
const requests = Number(values.requests)

if (values.child) {
  const { buildApp } = await import('../src/app.js')
  const { createDynamoClient } = await import('../src/storage/client.js')
  const { ensureTables } = await import('../src/storage/table-setup.js')
  const { models } = await import('../src/models/index.js')
  const { tracing } = await import('../src/telemetry/tracing.js')
  const client = createDynamoClient({ endpoint: String(process.env.DYNAMODB_ENDPOINT) })
  const prefix = `bench${process.pid}_`
  await ensureTables(client, prefix, models)
  const app = await buildApp({ config: { TABLE_PREFIX: prefix, OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1 << 20, REQUEST_TIMEOUT_MS: 30_000 }, dynamo: client })
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
  let id = ''
  let version = ''
  const serve = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const res = i % 3 === 0
        ? await app.inject({ method: 'POST', url: '/person', headers: { traceparent }, payload: { first_name: 'Ada', last_name: 'Lovelace' } })
        : i % 3 === 1
          ? await app.inject({ method: 'GET', url: `/person/${id}`, headers: { traceparent } })
          : await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { traceparent, 'if-match': `"${version}"`, 'content-type': 'application/merge-patch+json' }, payload: { last_name: `L${i}` } })
      if (res.statusCode >= 300) throw new Error(`${res.statusCode} ${res.body}`)
      const body = JSON.parse(res.body) as { entity_id: string, version: string }
      id = body.entity_id
      version = body.version
    }
  }
  await serve(600)
  await (await tracing())?.flush()
  const before = process.cpuUsage()
  await serve(requests)
  await (await tracing())?.flush()
  const used = process.cpuUsage(before)
  process.stdout.write(JSON.stringify({ cpuUsPerRequest: (used.user + used.system) / requests }))
  await app.close()
  client.destroy()
} else {
  const dynamo = await startDynamoDbLocal()
  let spans = 0
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      for (const rs of (JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> }).resourceSpans) {
        for (const ss of rs.scopeSpans) spans += ss.spans.length
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const otlp = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  const run = async (on: boolean): Promise<number> => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, DYNAMODB_ENDPOINT: dynamo.endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1', ...(on ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp } : {}) }
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/tracing.ts', '--child', '--requests', String(requests)], { env, maxBuffer: 1 << 20 })
    return (JSON.parse(stdout) as { cpuUsPerRequest: number }).cpuUsPerRequest
  }
  const off: number[] = []
  const on: number[] = []
  try {
    for (let r = 0; r < Number(values.rounds); r++) {
      off.push(await run(false))
      on.push(await run(true))
    }
  } finally {
    receiver.close()
    await dynamo.stop()
  }
  const median = (xs: number[]): number => percentile(xs, 0.5)
  process.stdout.write(`requests per round: ${requests}, rounds: ${values.rounds}, spans received: ${spans}\n`)
  process.stdout.write(`CPU µs per request, tracing off: ${median(off).toFixed(0)} (rounds ${off.map((x) => x.toFixed(0)).join(', ')})\n`)
  process.stdout.write(`CPU µs per request, tracing on:  ${median(on).toFixed(0)} (rounds ${on.map((x) => x.toFixed(0)).join(', ')})\n`)
  process.stdout.write(`difference: +${(median(on) - median(off)).toFixed(0)} µs (+${((median(on) / median(off) - 1) * 100).toFixed(0)} %)\n`)
}
