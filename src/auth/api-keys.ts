import { createHash, timingSafeEqual } from 'node:crypto'
import type { Caller } from './caller.js'
import type { ApiKeyEntry } from './settings.js'
import { callerIdOf } from './subject.js'

/** The SHA-256 of a key, as AUTH_API_KEYS holds it (64 lowercase hex digits). */
export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex')

/**
 * Finds the caller of a presented key. Only hashes are compared, each with timingSafeEqual, and every
 * configured hash is compared whatever matched before: the time taken says nothing about which key, or how
 * much of one, was right.
 */
export function apiKeyLookup (keys: readonly ApiKeyEntry[]): (presented: string) => Caller | undefined {
  // Ids were checked by parseApiKeys; a UUID id is written as 32 hex digits like a UUID JWT subject.
  const callers = keys.map((k) => ({ sha256: k.sha256, caller: { id: callerIdOf(k.id) ?? k.id, scopes: k.scopes } }))
  return (presented) => {
    const digest = createHash('sha256').update(presented, 'utf8').digest()
    let found: Caller | undefined
    for (const { sha256, caller } of callers) {
      if (timingSafeEqual(sha256, digest)) found = caller
    }
    return found
  }
}
