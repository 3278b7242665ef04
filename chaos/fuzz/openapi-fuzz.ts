import type { Answer, HostileRequest } from './send.js'
import { ANY_TYPE, encodePart, FILTER_OPS, HOSTILE_KEYS, HOSTILE_NUMBERS, HOSTILE_STRINGS, RawJson, type Rng, toJson } from './values.js'

type Schema = Record<string, any>

interface Parameter { in: 'path' | 'query' | 'header', name: string, required: boolean, schema: Schema }

export interface Operation {
  method: string
  /** OpenAPI path template: /book/{id}/versions/{version} */
  path: string
  /** The first path segment: the model's path, or `health`. */
  model: string
  parameters: Parameter[]
  body?: { types: string[], schema: Schema }
}

/** The operations of an OpenAPI 3 document, with `$ref`s to components resolved. */
export function operationsOf (doc: Schema): Operation[] {
  const resolve = (schema: Schema): Schema => {
    const ref = schema.$ref as string | undefined
    return ref === undefined ? schema : resolve(ref.split('/').slice(1).reduce<Schema>((node, key) => node[key] as Schema, doc))
  }
  const operations: Operation[] = []
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(item)) {
      const content = (op.requestBody?.content ?? {}) as Record<string, { schema: Schema }>
      const types = Object.keys(content)
      const first = types[0] === undefined ? undefined : content[types[0]]
      operations.push({
        method: method.toUpperCase(),
        path,
        model: path.split('/')[1] ?? '',
        parameters: ((op.parameters ?? []) as Schema[]).map((p) => ({ in: p.in, name: p.name, required: p.required === true, schema: resolve(p.schema ?? {}) })),
        ...(first === undefined ? {} : { body: { types, schema: resolve(first.schema) } })
      })
    }
  }
  return operations
}

/** How a generated value or body departs from the schema. */
type Mode = 'valid' | 'boundary' | 'wrong-type' | 'extra' | 'missing' | 'hostile'
const MODES: readonly Mode[] = ['valid', 'valid', 'valid', 'boundary', 'boundary', 'wrong-type', 'wrong-type', 'extra', 'missing', 'hostile']

const ODD_CONTENT_TYPES = ['text/plain', 'application/xml', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'APPLICATION/JSON', '*/*', 'application/json-patch+json']

interface Known { id: string, version: string }

/**
 * Requests generated from the service's own OpenAPI document: for each operation, path parameters, query
 * values, headers and bodies drawn from its schemas, valid, at and past their bounds, of the wrong type, with
 * extra members, missing required ones, or hostile values. It learns ids, versions and cursors from the answers
 * (`observe`), so writes and pages reach DynamoDB too instead of stopping at validation.
 */
export class OpenApiFuzzer {
  private readonly known = new Map<string, Known[]>()
  private readonly cursors = new Map<string, string[]>()

  /** `untouchable`: ids the fuzzer must never learn, so never writes to (entities the scenario reads back). */
  constructor (private readonly operations: readonly Operation[], private readonly rng: Rng, private readonly untouchable: ReadonlySet<string> = new Set()) {}

  next (): HostileRequest {
    const op = this.rng.pick(this.operations)
    const mode = this.rng.pick(MODES)
    const target = this.pickKnown(op.model)
    const query: string[] = []
    const headers: Record<string, string> = {}
    let path = op.path
    for (const p of op.parameters) {
      if (p.in === 'path') {
        path = path.replace(`{${p.name}}`, encodePart(this.pathValue(p.name, target, mode)))
      } else if (p.in === 'query') {
        if (!this.rng.chance(p.required || mode === 'missing' ? 0.5 : 0.25)) continue
        for (const v of this.queryValues(op, p, mode)) query.push(`${encodePart(p.name)}=${encodePart(v)}`)
      } else {
        const v = this.headerValue(p.name, target, mode)
        if (v !== undefined) headers[p.name] = v
      }
    }
    if (mode === 'extra' || this.rng.chance(0.05)) query.push(`${encodePart(this.rng.pick(HOSTILE_KEYS))}=${encodePart(this.rng.pick(HOSTILE_STRINGS))}`)
    const request: HostileRequest = { label: `openapi ${mode} ${op.method} ${op.path}`, method: op.method, path: query.length === 0 ? path : `${path}?${query.join('&')}`, headers }
    if (op.body !== undefined && !(op.method === 'DELETE' && this.rng.chance(0.7))) {
      request.body = this.body(op.body.schema, mode, target)
      headers['content-type'] = this.rng.chance(0.1) ? this.rng.pick(ODD_CONTENT_TYPES) : this.rng.pick(op.body.types)
    }
    return request
  }

  /** Learns ids and current versions (from 2xx entity answers) and cursors (from pages). */
  observe (request: HostileRequest, answer: Answer): void {
    if (answer.status >= 300 || !answer.headers['content-type']?.toString().startsWith('application/json')) return
    const model = request.path.split(/[/?]/)[1] ?? ''
    let body: Record<string, unknown>
    try { body = JSON.parse(answer.body) as Record<string, unknown> } catch { return }
    if (typeof body.entity_id === 'string' && typeof body.version === 'string' && !this.untouchable.has(body.entity_id)) {
      const list = this.known.get(model) ?? []
      const entry = list.find((k) => k.id === body.entity_id)
      if (entry !== undefined) entry.version = body.version
      else if (list.length < 50) list.push({ id: body.entity_id, version: body.version })
      this.known.set(model, list)
    }
    if (typeof body.next_cursor === 'string') {
      const list = this.cursors.get(model) ?? []
      if (list.length < 20) list.push(body.next_cursor)
      this.cursors.set(model, list)
    }
  }

  private pickKnown (model: string): Known | undefined {
    const list = this.known.get(model)
    return list === undefined || list.length === 0 || this.rng.chance(0.2) ? undefined : this.rng.pick(list)
  }

  private pathValue (name: string, target: Known | undefined, mode: Mode): string {
    if (mode === 'hostile' || (mode === 'wrong-type' && this.rng.chance(0.5))) return this.rng.pick([...HOSTILE_STRINGS.filter((s) => s !== ''), 'Z'.repeat(32), 'A'.repeat(32), '0'.repeat(31), this.rng.hex(33), this.rng.hex(250)])
    if (name === 'id') return target?.id ?? this.rng.hex(32)
    if (name === 'version') return target !== undefined && this.rng.chance(0.7) ? target.version : this.rng.hex(32)
    return this.rng.hex(32)
  }

  private headerValue (name: string, target: Known | undefined, mode: Mode): string | undefined {
    const valid = name === 'if-match' || name === 'if-none-match'
      ? `"${target?.version ?? this.rng.hex(32)}"`
      : `"${this.rng.hex(16)}"`
    if (mode === 'missing' || this.rng.chance(0.2)) return undefined
    if (mode === 'valid' || mode === 'extra' || this.rng.chance(0.5)) return valid
    return this.rng.pick(['*', 'W/"x"', '"', '""', 'abc', `"${'a'.repeat(300)}"`, `${valid}, garbage`, `${valid}, *`, '"a" "b"', ' ', '\u00ff', ...HOSTILE_STRINGS.filter(fitsHeader)])
  }

  private queryValues (op: Operation, p: Parameter, mode: Mode): string[] {
    if (p.name === 'cursor') {
      const issued = this.cursors.get(op.model) ?? []
      const cursor = issued.length === 0 ? 'eyJhIjoxfQ.c2ln' : this.rng.pick(issued)
      return [this.rng.pick([cursor, tamper(cursor, this.rng), `${cursor}.x`, cursor.split('.')[0] ?? '', '.', 'x'.repeat(5000), Buffer.from('{"entity_id":{"S":"x"}}').toString('base64url')])]
    }
    const filter = p.schema.anyOf !== undefined
    if (filter) return this.filterValues(mode)
    const schema = p.schema
    if (mode === 'valid' || mode === 'extra' || mode === 'missing') return [String(valueOf(schema, 'valid', this.rng))]
    if (mode === 'boundary') return [String(valueOf(schema, 'boundary', this.rng))]
    if (mode === 'wrong-type') return this.rng.chance(0.2) ? ['1', '2'] : [this.rng.pick(['abc', '', '1.5', '-1', '1e400', '0x10', 'true', 'null', '[]', '{}', '-0', '99999999999999999999999'])]
    return [this.rng.pick(HOSTILE_STRINGS)]
  }

  private filterValues (mode: Mode): string[] {
    const one = (): string => {
      const value = mode === 'valid' ? this.rng.pick(['Ada', 'Le Guin', '3', 'reading', 'true']) : this.rng.pick([...HOSTILE_STRINGS, ...HOSTILE_NUMBERS.map((n) => n.text)])
      if (this.rng.chance(0.3)) return value
      const op = this.rng.pick(FILTER_OPS)
      if (op === 'in') return `in.(${Array.from({ length: this.rng.pick([0, 1, 3, 101]) }, () => value).join(',')})`
      if (op === 'between') return `between.${value},${this.rng.pick(HOSTILE_STRINGS)}`
      return `${op}.${value}`
    }
    return Array.from({ length: this.rng.pick([1, 1, 1, 2, 11]) }, one)
  }

  private body (schema: Schema, mode: Mode, target: Known | undefined): string {
    if (mode === 'wrong-type' && this.rng.chance(0.3)) return toJson(this.rng.pick(ANY_TYPE.filter((v) => typeof v !== 'object' || Array.isArray(v) || v === null)))
    const body = objectOf(schema, mode, this.rng)
    if (target !== undefined && this.rng.chance(0.2)) body.version = this.rng.chance(0.7) ? target.version : this.rng.hex(32)
    if (mode === 'extra' || this.rng.chance(0.05)) body[this.rng.pick(HOSTILE_KEYS)] = this.rng.pick([...ANY_TYPE, ...HOSTILE_STRINGS])
    return toJson(body)
  }
}

/** An object for an object schema: every required member, some optional ones, one of them changed by `mode`. */
function objectOf (schema: Schema, mode: Mode, rng: Rng): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>
  const required = new Set((schema.required ?? []) as string[])
  const body: Record<string, unknown> = {}
  for (const [name, member] of Object.entries(properties)) {
    // A client-supplied entity_id now and then: mostly generated, so that creates do not collide.
    if (name === 'entity_id' ? rng.chance(0.1) : required.has(name) || rng.chance(0.5)) body[name] = valueOf(member, 'valid', rng)
  }
  const names = Object.keys(properties)
  if (names.length === 0) return body
  const victim = rng.pick(names)
  if (mode === 'missing') {
    delete body[rng.pick(required.size > 0 ? [...required] : names)]
  } else if (mode !== 'valid' && mode !== 'extra') {
    body[victim] = valueOf(properties[victim] ?? {}, mode, rng)
  }
  return body
}

/** A value for `schema`: inside it, at or past its bounds, of another type, or hostile. */
function valueOf (schema: Schema, mode: Mode, rng: Rng): unknown {
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined
  if (alternatives !== undefined) return valueOf(rng.pick(alternatives), mode, rng)
  if (mode === 'wrong-type') return rng.pick(ANY_TYPE.filter((v) => typeOf(v) !== schema.type))
  if (mode === 'hostile') return rng.chance(0.7) ? rng.pick(HOSTILE_STRINGS) : rng.pick(HOSTILE_NUMBERS)
  const enumValues = schema.enum as unknown[] | undefined
  if (enumValues !== undefined) return mode === 'valid' ? rng.pick(enumValues) : rng.pick([`${String(rng.pick(enumValues))} `, String(rng.pick(enumValues)).toUpperCase(), ''])
  switch (schema.type) {
    case 'integer':
    case 'number': {
      const min = (schema.minimum as number | undefined) ?? -1000
      const max = (schema.maximum as number | undefined) ?? 1000
      if (mode === 'valid') return min + rng.int(max - min + 1)
      return rng.pick<unknown>([min, max, min - 1, max + 1, 0.5, new RawJson('-0'), 2 ** 53, -(2 ** 53), ...HOSTILE_NUMBERS])
    }
    case 'boolean':
      return mode === 'valid' ? rng.chance(0.5) : rng.pick(['true', 1, 0])
    case 'array':
      return Array.from({ length: mode === 'valid' ? rng.int(3) : rng.pick([0, 101, 1000]) }, () => valueOf(schema.items ?? {}, 'valid', rng))
    case 'object':
      return mode === 'valid' ? { team: 'engines', n: rng.int(100), nested: { ok: [1, 2] } } : rng.pick<unknown>([{ [rng.pick(HOSTILE_KEYS)]: rng.pick(HOSTILE_STRINGS) }, { deep: JSON.parse('['.repeat(30) + ']'.repeat(30)) as unknown }, { n: rng.pick(HOSTILE_NUMBERS) }, {}])
    case 'string':
      return stringOf(schema, mode, rng)
    default:
      return mode === 'valid' ? 'x' : rng.pick(ANY_TYPE)
  }
}

function stringOf (schema: Schema, mode: Mode, rng: Rng): string {
  if (schema.pattern === '^[0-9a-f]{32}$') return mode === 'valid' ? rng.hex(32) : rng.pick([rng.hex(31), rng.hex(33), rng.hex(32).toUpperCase(), ''])
  if (schema.format === 'date-time') {
    const at = new Date(Date.now() - rng.int(86_400_000)).toISOString()
    return mode === 'valid' ? at : rng.pick(['2026-02-30T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999+14:00', '2026-11-26', 'yesterday', at.replace('Z', '+25:00'), '-271821-04-20T00:00:00Z'])
  }
  if (typeof schema.pattern === 'string') return mode === 'valid' ? String(schema.example ?? schema.examples?.[0] ?? 'title') : rng.pick(['a,,b', ',', '1a', 'a b', '__proto__', 'x'.repeat(5000)])
  const min = (schema.minLength as number | undefined) ?? 0
  const max = Math.min((schema.maxLength as number | undefined) ?? 64, 5000)
  if (mode === 'valid') return rng.pick(['Ada', 'Le Guin', 'Ursula', 'Ñandú', '山田', 'O\'Brien']).slice(0, max).padEnd(min, 'x')
  return rng.pick(['x'.repeat(max), 'x'.repeat(max + 1), 'x'.repeat(Math.max(0, min - 1)), '😀'.repeat(max), '😀'.repeat(Math.ceil(max / 2) + 1)])
}

function typeOf (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

/** Text a header value can carry: latin1 without CR, LF and NUL (the others go to the hand cases' raw sockets). */
const fitsHeader = (text: string): boolean => [...text].every((c) => c.charCodeAt(0) > 0 && c.charCodeAt(0) <= 0xFF && c !== '\r' && c !== '\n')

/** A cursor with one character of its payload or signature changed. */
function tamper (cursor: string, rng: Rng): string {
  if (cursor.length === 0) return 'x'
  const at = rng.int(cursor.length)
  const c = cursor[at] === 'A' ? 'B' : 'A'
  return cursor.slice(0, at) + c + cursor.slice(at + 1)
}
