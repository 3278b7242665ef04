import t from 'tap'
import { execFileSync } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError, loadConfig } from '../../src/config/config.js'
import { acceptQueueLength } from '../../src/metrics/accept-queue.js'
import { serveMetrics } from '../../src/metrics/listener.js'
import { setup, thrown } from '../support/helper.js'
import { sample, scrape } from './support.js'

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

t.test('verso_http_accept_queue_connections: connections the kernel holds that verso has not accepted yet', { skip: process.platform === 'linux' ? false : 'reads /proc/net/tcp (Linux only)' }, async (t) => {
  const ctx = await setup(t, { metrics: true })
  if (ctx.app.metrics === null) throw new Error('metrics are off')
  await ctx.app.listen({ host: '127.0.0.1', port: 0 })
  const port = (ctx.app.server.address() as AddressInfo).port
  ctx.app.metrics.observeListener(ctx.app.server)
  t.equal(sample(await scrape(ctx.app), 'verso_http_accept_queue_connections'), 0, 'idle: nothing waiting')

  // Another process opens 5 connections while this one is blocked (execFileSync), as a saturated event loop
  // would be: the kernel completes them, nobody accepts them.
  execFileSync(process.execPath, ['-e', `
    const net = require('node:net')
    let open = 0
    for (let i = 0; i < 5; i++) net.connect(${port}, '127.0.0.1', () => { if (++open === 5) process.exit(0) })
  `])
  t.equal(acceptQueueLength(port), 5, 'read from /proc/net/tcp before this process takes them')
  t.equal(sample(await scrape(ctx.app), 'verso_http_accept_queue_connections'), 5, 'and exposed')
  await sleep(300)
  t.equal(sample(await scrape(ctx.app), 'verso_http_accept_queue_connections'), 0, 'taken at the next turns of the event loop')
})
