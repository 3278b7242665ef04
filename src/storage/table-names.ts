import type { Model } from '../models/define.js'

export interface ModelTables {
  main: string
  audit: string
}

/** Rococo's layout: the lower-cased model name, and the same name with `_audit` for replaced versions. */
export function modelTables (prefix: string, model: Model): ModelTables {
  const main = `${prefix}${model.tableName}`
  return { main, audit: `${main}_audit` }
}

export const outboxTable = (prefix: string): string => `${prefix}verso_outbox`
/** Relay leases: one item per shard (owner, expiry, fencing counter) and one heartbeat per live relay. */
export const leaseTable = (prefix: string): string => `${prefix}verso_relay_leases`
/** Events a publisher refused for good, kept until re-driven. */
export const deadLetterTable = (prefix: string): string => `${prefix}verso_outbox_dead`
/** Idempotency keys: the answer of every write made under one, until `expires_at` (TTL). */
export const idempotencyTable = (prefix: string): string => `${prefix}verso_idempotency`
