import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { invalidIdempotencyKey, VersoError } from '../errors.js'
import { IdempotentReplay, type IdempotencyClaim } from '../repository/idempotency-records.js'
import { ProblemRef } from './schemas.js'

/** What a route answers a successful write with: the first answer, and the one stored for replays. */
export interface Answer {
  status: number
  /** The headers a replay must carry too (Location, ETag). */
  headers: Record<string, string>
  body: unknown
}

interface StoredAnswer { status: number, headers: Record<string, string>, body: string }

const JSON_TYPE = 'application/json; charset=utf-8'
const KEY = /^[\x21\x23-\x5B\x5D-\x7E]{1,255}$/

/**
 * The Idempotency-Key header's key, undefined when absent: 1–255 visible ASCII characters other than `"` and
 * `\`. The draft makes the header a Structured Field string (`"…"`); the bare form clients commonly send is
 * taken too, and both name the same key. A header sent twice arrives joined with ", " and is refused.
 */
export function parseIdempotencyKey (header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  if (typeof header !== 'string') throw invalidIdempotencyKey()
  const quoted = header.length >= 2 && header.startsWith('"') && header.endsWith('"')
  const key = quoted ? header.slice(1, -1) : header
  if (!KEY.test(key)) throw invalidIdempotencyKey()
  return key
}

/** JSON with the members of every object in code-point order: equal values, equal text. */
export const canonicalJson = (value: unknown): string | undefined => JSON.stringify(value, (_key, v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v)

/**
 * SHA-256 over what makes two requests the same request: method, route, path parameters, If-Match (a restore
 * based on another version is another request), the body as parsed (member order and whitespace do not count)
 * and the caller.
 */
export function fingerprint (request: FastifyRequest): string {
  const parts = [request.method, request.routeOptions.url ?? request.url, request.params ?? {}, request.headers['if-match'] ?? null, request.body ?? null, request.callerId]
  return createHash('sha256').update(canonicalJson(parts) ?? '').digest('base64url')
}

const stored = (answer: Answer): StoredAnswer =>
  ({ status: answer.status, headers: { ...answer.headers, 'content-type': JSON_TYPE }, body: JSON.stringify(answer.body) })

/**
 * Idempotency-Key on the POST writes (create, restore). The answer of a write made under a key is committed
 * in the same transaction as the write (the repository adds the claim as one more item), so a retry can never
 * write twice: the same request again gets the first answer with `Idempotent-Replayed: true`; the key with
 * another request is 422; a retry while the first is still committing is 409 with Retry-After. Keys are
 * scoped per caller. Failed writes store nothing: a retry after a 4xx executes again.
 */
export class IdempotencyKeys {
  constructor (readonly ttlSeconds: number) {}

  /** Runs `write` under the request's key, if it has one, and answers with `respond(result)` or the replay. */
  async answer<T> (request: FastifyRequest, reply: FastifyReply, write: (claim: IdempotencyClaim<T> | undefined) => Promise<T>, respond: (result: T) => Answer): Promise<FastifyReply> {
    const key = parseIdempotencyKey(request.headers['idempotency-key'])
    if (key === undefined) {
      const answer = respond(await write(undefined))
      return reply.code(answer.status).headers(answer.headers).send(answer.body)
    }
    const claim: IdempotencyClaim<T> = {
      // The caller id may hold spaces, the key cannot: the last space splits them unambiguously.
      key: `${request.callerId} ${key}`,
      fingerprint: fingerprint(request),
      expiresAt: Math.floor(Date.now() / 1000) + this.ttlSeconds,
      response: (result) => JSON.stringify(stored(respond(result)))
    }
    let result: T
    try {
      result = await write(claim)
    } catch (err) {
      if (err instanceof IdempotentReplay) return this.replay(reply, err.response)
      if (err instanceof VersoError && typeof err.extra.retry_after_s === 'number') reply.header('retry-after', String(err.extra.retry_after_s))
      throw err
    }
    // The text sent is the text stored: a replay is byte for byte the first answer.
    const answer = stored(respond(result))
    return reply.code(answer.status).headers(answer.headers).send(answer.body)
  }

  private replay (reply: FastifyReply, text: string): FastifyReply {
    const answer = JSON.parse(text) as StoredAnswer
    return reply.code(answer.status).headers(answer.headers).header('idempotent-replayed', 'true').send(answer.body)
  }
}

// OpenAPI pieces of the routes that take a key.
export const IdempotencyKeyHeader = Type.Optional(Type.String({
  description: 'Makes a retry of this POST safe (IETF httpapi Idempotency-Key draft): 1–255 visible ASCII characters other than " and \\, as a quoted string or bare, unique per request of this caller (a fresh UUID, say). A retry of the same request within IDEMPOTENCY_TTL gets the first answer again, with Idempotent-Replayed: true; the same key with another request is 422.'
  // No example: Swagger UI would fill it in on every "Try it out", and every caller would share that one key.
}))

export const ReplayedHeader = { type: 'string', enum: ['true'], description: 'Present when this is the stored answer of an earlier request with the same Idempotency-Key' }

/** 409 (the conflicts the route has anyway, and a request with the key still in flight) and 422 (key reused). */
export const idempotencyProblems = (conflict: string): Record<number, unknown> => ({
  409: {
    description: `${conflict}, or a request with the same Idempotency-Key is still in flight (retry after Retry-After seconds)`,
    headers: { 'retry-after': { type: 'string', description: 'Seconds to wait, when a request with the same key is in flight', examples: ['1'] } },
    content: { 'application/problem+json': { schema: ProblemRef } }
  },
  422: {
    description: 'The Idempotency-Key was used before for a different request; nothing was written',
    content: { 'application/problem+json': { schema: ProblemRef } }
  }
})
