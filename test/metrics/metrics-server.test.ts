import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/config.js'
import { serveMetrics } from '../../src/metrics/server.js'
import { setup, thrown } from '../support/helper.js'
import { sample } from './support.js'

t.test('the metrics listener: GET /metrics on a port of its own, nothing else', async (t) => {
  const ctx = await setup(t, { metrics: true })
  if (ctx.app.metrics === null) throw new Error('metrics are off')
  const server = await serveMetrics(ctx.app.metrics, '127.0.0.1', 0)
  t.teardown(server.close)
  t.match(server.address, /^http:\/\/127\.0\.0\.1:\d+$/)

  await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace' } })
  const res = await fetch(`${server.address}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  t.equal(sample(text, 'verso_http_request_duration_seconds_count', { route: '/person', status_code: '201' }), 1)
  t.equal(sample(text, 'verso_dynamodb_request_duration_seconds_count', { operation: 'TransactWriteItems' }), 1)

  t.equal((await fetch(`${server.address}/`)).status, 404, 'no other path')
  t.equal((await fetch(`${server.address}/person`)).status, 404, 'not the API')
  t.equal((await fetch(`${server.address}/metrics`, { method: 'POST' })).status, 404, 'GET only')
  t.equal((await ctx.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'and the API port has no /metrics')
})

t.test('close() does not wait for a scraper\'s keep-alive connection', async (t) => {
  const ctx = await setup(t, { metrics: true })
  if (ctx.app.metrics === null) throw new Error('metrics are off')
  const server = await serveMetrics(ctx.app.metrics, '127.0.0.1', 0)
  await (await fetch(`${server.address}/metrics`, { keepalive: true })).text()
  const started = Date.now()
  await server.close()
  // Waiting for the connection would take Node's 5 s keep-alive timeout; 3 s leaves room for a loaded machine.
  t.ok(Date.now() - started < 3000, `closed without waiting for the keep-alive connection (${Date.now() - started} ms)`)
})

t.test('METRICS_PORT and METRICS_HOST settings', async (t) => {
  const base = { DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', AUTH_MODE: 'none', OUTBOX_PUBLISHER: 'log' }
  const plain = loadConfig(base)
  t.equal(plain.METRICS_PORT, undefined, 'off unless set')
  t.equal(plain.METRICS_HOST, '127.0.0.1', 'loopback by default')
  const set = loadConfig({ ...base, METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' })
  t.equal(set.METRICS_PORT, 9464)
  t.equal(set.METRICS_HOST, '0.0.0.0')
  t.match(thrown(() => loadConfig({ ...base, PORT: '3000', METRICS_PORT: '3000' })), { constructor: ConfigError, variable: 'METRICS_PORT', message: /differ from PORT/ })
  t.match(thrown(() => loadConfig({ ...base, METRICS_PORT: '70000' })), { constructor: ConfigError, variable: 'METRICS_PORT' })
  t.equal(loadConfig({ ...base, PORT: '0', METRICS_PORT: '0' }).METRICS_PORT, 0, 'both on any free port')
})
