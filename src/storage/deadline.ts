import type { HttpRequest } from '@smithy/types'

/** One call sent under a deadline (boundedSender), and the HTTP attempts it has made so far. */
export interface BoundedCall { signal: AbortSignal, attempts: number }

// Keyed by objects the SDK hands from middleware to middleware unchanged, so that concurrent calls on one
// cached stack (whose context object they share) each find their own deadline. Per call: its input; per
// attempt: the signed request the transport sends (the SDK clones the request for each attempt).
const calls = new WeakMap<object, BoundedCall>()
const attempts = new WeakMap<object, AbortSignal>()

/**
 * Records `signal` as the deadline of the call about to be sent with `input`. False if that input object was
 * already sent under another deadline: kept, because that call's retries may still be pending, and they must
 * keep seeing their own deadline.
 */
export function startBounded (input: object, signal: AbortSignal): boolean {
  const known = calls.get(input)
  if (known !== undefined) return known.signal === signal
  calls.set(input, { signal, attempts: 0 })
  return true
}

/** The deadline of the call sent with `input`; undefined outside any (the relay, table setup). */
export function boundedCall (input: unknown): BoundedCall | undefined {
  return typeof input === 'object' && input !== null ? calls.get(input) : undefined
}

/** Ties one attempt's request to its call's deadline, for the transport. */
export function startAttempt (request: HttpRequest, call: BoundedCall): void {
  call.attempts++
  attempts.set(request, call.signal)
}

/** The deadline of the attempt sending `request`, if its call has one. */
export function attemptDeadline (request: HttpRequest): AbortSignal | undefined {
  return attempts.get(request)
}

/** What an aborted call fails with: named `AbortError`, which the SDK never retries and mapStorageError reads as the deadline. */
export function abortError (signal: AbortSignal, attempts?: number): Error {
  const reason: unknown = signal.reason
  const error = Object.assign(new Error('Request aborted', reason instanceof Error ? { cause: reason } : {}), { name: 'AbortError' })
  return attempts === undefined ? error : Object.assign(error, { $metadata: { attempts } })
}
