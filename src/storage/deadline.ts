import { AsyncLocalStorage } from 'node:async_hooks'

const deadlines = new AsyncLocalStorage<AbortSignal>()

/**
 * Runs `work` with `signal` as the deadline of every DynamoDB call it starts, awaited or not. The deadline
 * travels with the call's async context instead of as a per-call `abortSignal` option, because any per-call
 * option makes the SDK rebuild its middleware stack on every `send` (`cacheMiddleware` applies only without).
 */
export function underDeadline<T> (signal: AbortSignal, work: () => T): T {
  return deadlines.run(signal, work)
}

/** The deadline of the DynamoDB call running in this async context; undefined outside any (the relay, table setup). */
export function currentDeadline (): AbortSignal | undefined {
  return deadlines.getStore()
}

/** What an aborted call fails with: named `AbortError`, which the SDK never retries and mapStorageError reads as the deadline. */
export function abortError (signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  return Object.assign(new Error('Request aborted', reason instanceof Error ? { cause: reason } : {}), { name: 'AbortError' })
}
