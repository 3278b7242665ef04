import type { FastifyRequest } from 'fastify'
import { badRequest, preconditionRequired } from '../errors.js'
import { isId } from '../models/entity.js'

export const etagOf = (version: unknown): string => `"${String(version)}"`

interface EntityTags { any: boolean, strong: string[], weak: string[] }

const TAG = /^\s*(W\/)?"([^"]*)"\s*$/

/** Parses an If-Match / If-None-Match value (RFC 9110 §13.1): `*` or a list of entity tags. */
export function parseEntityTags (header: string): EntityTags {
  if (header.trim() === '*') return { any: true, strong: [], weak: [] }
  const tags: EntityTags = { any: false, strong: [], weak: [] }
  for (const part of header.split(',')) {
    const m = TAG.exec(part)
    if (m === null) throw badRequest('If-Match / If-None-Match must be * or a list of quoted entity tags such as "0194…".')
    ;(m[1] === undefined ? tags.strong : tags.weak).push(m[2] ?? '')
  }
  return tags
}

/** The versions a write may be based on, and where the client said so (it decides 412 or 409 when stale). */
export interface Precondition {
  versions: string[]
  source: 'if-match' | 'body'
}

/**
 * The base version of a write, from If-Match or the body's `version`. Neither → 428. `If-Match: *` is refused
 * with 428 too: it would turn the optimistic lock off. Weak tags never match (If-Match uses strong comparison).
 */
export function requirePrecondition (ifMatch: string | undefined, bodyVersion: unknown): Precondition {
  if (ifMatch !== undefined) {
    const tags = parseEntityTags(ifMatch)
    if (tags.any) throw preconditionRequired('If-Match: * is not accepted: send the version this write is based on, If-Match: "<version>".')
    if (bodyVersion !== undefined && !tags.strong.includes(String(bodyVersion))) {
      throw badRequest('If-Match and the body version disagree; send one of them.')
    }
    return { versions: tags.strong.filter(isId), source: 'if-match' }
  }
  if (bodyVersion !== undefined) return { versions: [String(bodyVersion)], source: 'body' }
  throw preconditionRequired()
}

/** If-None-Match on a read: true when the client's copy is current (answer 304). Weak comparison. */
export function notModified (ifNoneMatch: string | undefined, version: unknown): boolean {
  if (ifNoneMatch === undefined || version === undefined) return false
  const tags = parseEntityTags(ifNoneMatch)
  return tags.any || [...tags.strong, ...tags.weak].includes(String(version))
}

/**
 * Runs a versioned write based on the request's precondition (If-Match, or the `version` the route took out of the body); the
 * repository answers a stale base version with 412 (If-Match) or 409 (body version) by its source.
 */
export async function writeWithPrecondition<T> (request: Pick<FastifyRequest, 'headers'>, bodyVersion: string | undefined, write: (expected: Precondition) => Promise<T>): Promise<T> {
  return await write(requirePrecondition(request.headers['if-match'], bodyVersion))
}
