/** Tracing off (the default): nothing of OpenTelemetry is loaded, and the trace context works as before. */
import t from 'tap'
import { tracing, tracingConfigured } from '../../src/telemetry/tracing.js'
import { json, setup } from '../support/helper.js'

for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) delete process.env[key]

t.test('on only with an OTLP endpoint, and not when the SDK is disabled', async (t) => {
  t.equal(tracingConfigured({}), false, 'off by default')
  t.equal(tracingConfigured({ OTEL_SERVICE_NAME: 'verso', OTEL_TRACES_SAMPLER: 'always_on' }), false, 'no endpoint, nowhere to export')
  t.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), false, 'empty counts as unset')
  t.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true)
  t.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), true)
  t.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'TRUE' }), false)
  t.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'false' }), true)
})

t.test('a request without tracing configured: no OpenTelemetry loaded, the event still in the caller\'s trace', async (t) => {
  const ctx = await setup(t)
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
  const created = await ctx.app.inject({ method: 'POST', url: '/person', headers: { traceparent }, payload: { first_name: 'Ada', last_name: 'Lovelace' } })
  t.equal(created.statusCode, 201)
  const [event] = await ctx.events(String(json(created).entity_id))
  t.match(event?.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/)
  t.equal(await tracing(), undefined)
  // @opentelemetry/api keeps its registrations under this global once any of it has been set up.
  t.equal((globalThis as Record<symbol, unknown>)[Symbol.for('opentelemetry.js.api.1')], undefined, 'no OpenTelemetry API registered')
})
