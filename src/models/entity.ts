import { randomFillSync, randomUUID } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'

/** An entity as the API and the repository see it: field name → value, `entity_id`, `version` and the rest of Rococo's metadata included. */
export type Entity = Record<string, unknown>

/** Rococo's zero id: `previous_version` of a first version and `changed_by_id` of an anonymous write. */
export const ZERO_ID = '00000000000040008000000000000000'
/** Rococo ids and versions: a UUID's 32 hex digits, lower case, no dashes. */
export const ID_PATTERN = '^[0-9a-f]{32}$'
const ID_REGEX = new RegExp(ID_PATTERN)

export const isId = (value: unknown): value is string => typeof value === 'string' && ID_REGEX.test(value)
export const newEntityId = (): string => randomUUID().replaceAll('-', '')
/**
 * UUIDv7: time-ordered; without `msecs` (event ids) also in creation order within one millisecond, by a
 * counter started at a random value each millisecond, as the uuid package does when given no options.
 */
export function newVersion (msecs?: number): string {
  const random = random16()
  if (msecs !== undefined) return uuidv7({ msecs, random }).replaceAll('-', '')
  const now = Date.now()
  if (now > sequence.msecs) {
    sequence.msecs = now
    sequence.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!
  } else if ((sequence.seq = (sequence.seq + 1) | 0) === 0) {
    sequence.msecs++
  }
  return uuidv7({ msecs: sequence.msecs, seq: sequence.seq, random }).replaceAll('-', '')
}
const sequence = { msecs: -Infinity, seq: 0 }

// Left to itself uuid asks the kernel for 16 random bytes per id (a getrandom call each, ~25 µs of CPU per
// write here); they are cut from a pooled buffer instead, one call per 256 ids, as node's randomUUID does.
let pool = new Uint8Array(0)
let offset = 0
function random16 (): Uint8Array {
  if (offset + 16 > pool.length) {
    pool = randomFillSync(new Uint8Array(4096))
    offset = 0
  }
  offset += 16
  return pool.subarray(offset - 16, offset)
}

// isoformat() (`T`, `+00:00`), str(datetime) (a space), PynamoDB's UTCDateTimeAttribute (`+0000`) and RFC 3339 (`Z`).
const PY_ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:?\d{2})?$/

/** Parses a timestamp as Python's isoformat() writes it (also RFC 3339) into microseconds since the epoch. */
export function parseTimestampMicros (text: string): number | undefined {
  const m = PY_ISO.exec(text)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m
  // Not Date.UTC: it reads years 0-99 as 1900-1999.
  const date = new Date(0)
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d))
  date.setUTCHours(Number(h), Number(mi), Number(s), 0)
  const ms = date.getTime()
  if (Number.isNaN(ms)) return undefined
  const offsetMinutes = zone.toUpperCase() === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)))
  // Beyond microseconds (RFC 3339 allows nanoseconds) the digits are cut: changed_on has microseconds.
  return (ms - offsetMinutes * 60_000) * 1000 + Number(frac.slice(0, 6).padEnd(6, '0'))
}

/**
 * Formats microseconds since the epoch exactly as Python's `datetime.isoformat()` does for an aware UTC
 * datetime: six fraction digits, none at all when the microseconds are zero, and `+00:00`.
 */
export function formatTimestamp (micros: number): string {
  const date = new Date(Math.floor(micros / 1000))
  const fraction = micros % 1_000_000
  const base = date.toISOString().slice(0, 19)
  return `${base}${fraction === 0 ? '' : '.' + String(fraction).padStart(6, '0')}+00:00`
}

/**
 * `changed_on` of a new version: now, but strictly after its predecessor (at least 1 ms later), so that
 * per-entity time order equals version-chain order even when replicas' clocks disagree.
 */
export function nextChangedOn (previous?: string, nowMs = Date.now()): string {
  const now = nowMs * 1000
  const prev = previous === undefined ? undefined : parseTimestampMicros(previous)
  return formatTimestamp(prev === undefined ? now : Math.max(now, prev + 1000))
}

/**
 * `version` and `changed_on` of a new version. The UUIDv7's time is `changed_on`'s millisecond, and that
 * is at least 1 ms after the predecessor's, so an entity's versions sort in chain order in the audit
 * table's range key even when replicas' clocks disagree.
 */
export function nextVersionStamp (previousChangedOn?: string, nowMs = Date.now()): { version: string, changed_on: string } {
  const changedOn = nextChangedOn(previousChangedOn, nowMs)
  return { version: newVersion(Math.floor((parseTimestampMicros(changedOn) ?? nowMs * 1000) / 1000)), changed_on: changedOn }
}
