/**
 * Seeded randomness and the hostile values the fuzzers draw from. None of the strings holds what the scenario
 * looks for as a leak (error class names, source paths): a value stored by one request and read back by
 * another would otherwise look like one.
 */
export class Rng {
  constructor (private state: number) {}

  /** mulberry32: small, fast, good enough to pick test inputs reproducibly. */
  next (): number {
    this.state = (this.state + 0x6D2B79F5) | 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int (below: number): number { return Math.floor(this.next() * below) }
  chance (p: number): boolean { return this.next() < p }
  pick<T> (items: readonly T[]): T { return items[this.int(items.length)] as T }
  hex (length: number): string { return Array.from({ length }, () => '0123456789abcdef'[this.int(16)]).join('') }
}

/** JSON text placed verbatim in a generated body: numbers JavaScript cannot hold (1e400, 40 digits, -0). */
export class RawJson {
  constructor (readonly text: string) {}
}

/** JSON.stringify that writes RawJson values verbatim. */
export function toJson (value: unknown): string {
  if (value instanceof RawJson) return value.text
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export const HOSTILE_STRINGS: readonly string[] = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83d', '\ufeffbom', '\u202eevil\u202c', '\u200b', '\u2028\u2029',
  'e\u0301\u0301\u0301', '😀'.repeat(50), '𝕏'.repeat(200), 'ﷺ'.repeat(300), '\u00ff\u00fe', '\\', '"', '\'', '`', '%00', '%', '%zz',
  '../../etc/passwd', '..\\..\\win.ini', '<script>alert(1)</script>', '$' + '{jndi:ldap://x/a}', '{{7*7}}', "' OR '1'='1", '; DROP TABLE person',
  ':v', '#n', ':version', '#version', 'attribute_exists(entity_id)', 'a) OR attribute_not_exists(entity_id', 'size(title) > :v',
  'begins_with(title, "")', 'SELECT', 'ORDER', 'BY', 'TABLE', 'VALUE', 'NAME', 'DATA', 'KEY', 'INDEX', '__proto__', 'constructor', 'prototype',
  'hasOwnProperty', 'toString', 'null', 'undefined', 'true', 'NaN', 'Infinity', '-0', '1e400', '0x1F', '00000000000040008000000000000000',
  'x'.repeat(201), 'y'.repeat(4097), '\r\nX-Injected: 1', '\t\v\f', 'a,b', '(a,b)', 'in.(a,b)', 'eq.', 'between.1'
]

export const HOSTILE_NUMBERS: readonly RawJson[] = [
  '1e400', '-1e400', '1e-400', '-0', '0.0', '1234567890123456789012345678901234567890', '-1234567890123456789012345678901234567890',
  '9007199254740993', '1.0000000000000000000000000001', '1E2', '5e-324', '1.7976931348623157e308', '-1', '0.5', '100000000000000000000'
].map((t) => new RawJson(t))

/** Values of every JSON type, for wrong-typed members. */
export const ANY_TYPE: readonly unknown[] = [null, true, false, 0, -1.5, 'text', [], {}, [1, 'a', null], { a: 1 }, [[[]]]]

/** Keys an attacker would put in a body. */
export const HOSTILE_KEYS: readonly string[] = [
  '__proto__', 'constructor', 'prototype', 'version', 'entity_id', 'previous_version', 'active', 'changed_by_id', 'changed_on', '',
  ' ', '\u0000', '\ud800', 'a.b', 'a[0]', '#name', ':value', 'SELECT', 'toString', 'x'.repeat(300)
]

/** Operators for `field=op.value` filters: the known ones and odd ones. */
export const FILTER_OPS: readonly string[] = [
  'eq', 'ne', 'neq', 'lt', 'lte', 'gt', 'gte', 'begins_with', 'between', 'in', 'exists',
  'EQ', 'like', 'ilike', 'is', 'not', 'not.eq', 'or', 'and', 'contains', 'size', '', ' eq', 'eq ', 'in.(', '__proto__', ':v', '#n'
]

/** encodeURIComponent, except that a lone surrogate is sent as its WTF-8 bytes (%ED%A0%80) instead of throwing. */
export function encodePart (text: string): string {
  return text.split(/([\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff])/).map((part) => {
    if (part.length !== 1 || part.charCodeAt(0) < 0xD800 || part.charCodeAt(0) > 0xDFFF) return encodeURIComponent(part)
    const c = part.charCodeAt(0)
    return [0xE0 | (c >> 12), 0x80 | ((c >> 6) & 0x3F), 0x80 | (c & 0x3F)].map((b) => `%${b.toString(16).toUpperCase()}`).join('')
  }).join('')
}
