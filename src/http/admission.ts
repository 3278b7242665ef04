import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import { overloaded } from '../errors.js'
import { NEVER_SHED_PATH } from '../open-paths.js'
import { respondWithProblem } from './problem.js'

/** Admitted at once whatever the measured rate: a cold start has none yet. */
export const MIN_IN_FLIGHT = 32
/** How long an overloaded replica asks callers to wait (as the event-loop shedding does). */
export const ADMISSION_RETRY_AFTER_S = 5
/** Finished requests are counted per slot; the rate is that of the last SLOTS × SLOT_MS. */
const SLOT_MS = 250
const SLOTS = 8

/**
 * Admission by Little's law: a request is let in only while the requests in flight would all be done within
 * `targetMs` at the rate verso has been finishing them (at least MIN_IN_FLIGHT). Past that, adding work only
 * makes every caller wait longer — at several times verso's capacity, long enough for clients to give up on
 * answers that still come. The rest are answered 503 VERSO_OVERLOADED with Retry-After before anything reads
 * their body or routes them, which costs far less than serving them. Liveness is always let in.
 */
export class Admission {
  inFlight = 0
  shed = 0
  private readonly finished = new Array<number>(SLOTS).fill(0)
  private slot = 0

  constructor (private readonly targetMs: number) {}

  /** Requests verso may hold now. */
  limit (now = Date.now()): number {
    this.advance(now)
    const perSecond = this.finished.reduce((a, b) => a + b, 0) / (SLOTS * SLOT_MS / 1000)
    return Math.max(MIN_IN_FLIGHT, Math.floor(perSecond * this.targetMs / 1000))
  }

  admit (now = Date.now()): boolean {
    if (this.inFlight >= this.limit(now)) {
      this.shed++
      return false
    }
    this.inFlight++
    return true
  }

  /**
   * A request admitted earlier has ended. Only one that was served counts toward the rate: one answered 503 after
   * admission (event-loop shedding, storage unavailable or past its deadline) was not, and counting it would
   * inflate the rate, and with it the limit, exactly when verso is behind.
   */
  done (now = Date.now(), served = true): void {
    this.inFlight--
    this.advance(now)
    if (served) this.finished[this.slot % SLOTS]!++
  }

  private advance (now: number): void {
    const slot = Math.floor(now / SLOT_MS)
    for (let s = Math.max(this.slot + 1, slot - SLOTS + 1); s <= slot; s++) this.finished[s % SLOTS] = 0
    this.slot = Math.max(this.slot, slot)
  }
}

/** Puts admission in front of the server's request listener (fastify's), so a shed request never reaches it. */
export function admitRequests (server: Server, admission: Admission): void {
  const listeners = server.listeners('request') as RequestListener[]
  server.removeAllListeners('request')
  const serve = (request: IncomingMessage, response: ServerResponse): void => { for (const listener of listeners) listener(request, response) }
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.url === NEVER_SHED_PATH) return serve(request, response)
    if (!admission.admit()) return refuse(request, response)
    response.once('close', () => { admission.done(Date.now(), response.statusCode !== 503) })
    serve(request, response)
  })
}

function refuse (request: IncomingMessage, response: ServerResponse): void {
  respondWithProblem(request, response, overloaded(ADMISSION_RETRY_AFTER_S), { 'retry-after': String(ADMISSION_RETRY_AFTER_S) })
}
