import type { HttpRequest } from '@smithy/types'

/**
 * When a request's DynamoDB work is abandoned (STORAGE_TIMEOUT_MS). Not an AbortSignal: one of those per
 * request (an EventTarget, a timer kept until it fires, listeners per call and per attempt) cost a GET about
 * as much CPU as the rest of verso's own work (docs/performance.md). A Deadline is a time; it arms one timer
 * only while some call waits on it, and clears it when the last one finishes.
 */
export class Deadline {
  private readonly waiters = new Set<() => void>()
  private timer: NodeJS.Timeout | undefined
  private expiredEarly = false

  /** `at`: on performance.now()'s clock. */
  private constructor (readonly at: number) {}

  /** The deadline `ms` from now. */
  static in (ms: number): Deadline {
    return new Deadline(performance.now() + ms)
  }

  get expired (): boolean {
    return this.expiredEarly || performance.now() >= this.at
  }

  /** Calls `listener` once, at the deadline, unless the returned function is called first. */
  whenExpired (listener: () => void): () => void {
    this.waiters.add(listener)
    // unref: a deadline alone never keeps the process up (the call's socket or the SDK's backoff timer do).
    this.timer ??= setTimeout(this.expire, this.expiredEarly ? 0 : Math.max(0, this.at - performance.now())).unref()
    return () => {
      this.waiters.delete(listener)
      if (this.waiters.size === 0 && this.timer !== undefined) {
        clearTimeout(this.timer)
        this.timer = undefined
      }
    }
  }

  /** Ends it now: every waiting call fails (a caller that gives up early; tests). */
  readonly expire = (): void => {
    this.expiredEarly = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const waiting = [...this.waiters]
    this.waiters.clear()
    for (const waiter of waiting) waiter()
  }
}

/** What the transport waits on: a call's Deadline, or an AbortSignal given as the SDK's per-call option. */
export interface Expiry {
  readonly expired: boolean
  /** Why it expired, for the error's cause (an AbortSignal's reason; none for a Deadline). */
  readonly reason?: unknown
  whenExpired: (listener: () => void) => () => void
}

/** An AbortSignal seen as an Expiry. */
export function signalExpiry (signal: AbortSignal): Expiry {
  return {
    get expired () { return signal.aborted },
    get reason () { return signal.reason },
    whenExpired: (listener) => {
      signal.addEventListener('abort', listener, { once: true })
      return () => { signal.removeEventListener('abort', listener) }
    }
  }
}

/** One call sent under a deadline (boundedSender), and the HTTP attempts it has made so far. */
export interface BoundedCall { deadline: Deadline, attempts: number }

// Keyed by objects the SDK hands from middleware to middleware unchanged, so that concurrent calls on one
// cached stack (whose context object they share) each find their own deadline. Per call: its input; per
// attempt: the signed request the transport sends (the SDK clones the request for each attempt).
const calls = new WeakMap<object, BoundedCall>()
const attempts = new WeakMap<object, Deadline>()

/**
 * Records `deadline` for the call about to be sent with `input`. False if that input object was already sent
 * under another deadline: kept, because that call's retries may still be pending, and they must keep seeing
 * their own deadline.
 */
export function startBounded (input: object, deadline: Deadline): boolean {
  const known = calls.get(input)
  if (known !== undefined) return known.deadline === deadline
  calls.set(input, { deadline, attempts: 0 })
  return true
}

/** The deadline of the call sent with `input`; undefined outside any (the relay, table setup). */
export function boundedCall (input: unknown): BoundedCall | undefined {
  return typeof input === 'object' && input !== null ? calls.get(input) : undefined
}

/** Ties one attempt's request to its call's deadline, for the transport. */
export function startAttempt (request: HttpRequest, call: BoundedCall): void {
  call.attempts++
  attempts.set(request, call.deadline)
}

/** The deadline of the attempt sending `request`, if its call has one. */
export function attemptDeadline (request: HttpRequest): Deadline | undefined {
  return attempts.get(request)
}

/** What an aborted call fails with: named `AbortError`, which the SDK never retries and mapStorageError reads as the deadline. */
export function abortError (attempts?: number, cause?: unknown): Error {
  const error = Object.assign(new Error('Request aborted', cause instanceof Error ? { cause } : {}), { name: 'AbortError' })
  return attempts === undefined ? error : Object.assign(error, { $metadata: { attempts } })
}
