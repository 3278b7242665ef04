import type { Tracing } from './sdk.js'

export type { Tracing }

/**
 * Whether OpenTelemetry tracing is configured, by the standard variables: an OTLP endpoint (for all signals or
 * for traces) and the SDK not disabled.
 */
export function tracingConfigured (env: NodeJS.ProcessEnv): boolean {
  const endpoint = (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '') !== '' || (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '') !== ''
  return endpoint && env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true'
}

let started: Promise<Tracing | undefined> | undefined

/**
 * The process's tracing, started on first use; undefined when not configured. The OpenTelemetry modules are
 * imported only then, so a service without tracing neither loads them nor pays anything per request.
 */
export async function tracing (): Promise<Tracing | undefined> {
  started ??= tracingConfigured(process.env) ? import('./sdk.js').then(({ startTracing }) => startTracing()) : Promise.resolve(undefined)
  return await started
}
