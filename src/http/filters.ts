import type { TSchema } from 'typebox'
import { validationFailed, type VersoError } from '../errors.js'
import type { Model } from '../models/define.js'
import type { FieldFilter } from '../models/field-types/index.js'
import { fieldValueValidator } from '../models/validator.js'
import type { Condition, Operator, Scalar } from '../repository/query.js'

const OPERATORS: Record<string, Operator> = {
  eq: 'eq',
  ne: 'ne',
  neq: 'ne',
  lt: 'lt',
  lte: 'lte',
  gt: 'gt',
  gte: 'gte',
  begins_with: 'begins_with',
  between: 'between',
  in: 'in',
  exists: 'exists'
}
const MAX_IN = 100

/**
 * Parses filters written as PostgREST writes them: `field=op.value` (`rating=gte.4`, `author=in.(Le Guin,Butler)`,
 * `rating=between.2,4`, `rating=exists.false`). A value without a known `op.` prefix means equality
 * (`author=Le Guin`); a value that really starts with one is written `eq.gt.5`. Each value is checked
 * against the field's declared type: a number filter on a string field is a 400.
 */
export function parseFilters (model: Model, query: Record<string, unknown>): Condition[] {
  const conditions: Condition[] = []
  const keyFields = new Set(model.indexes.flatMap((i) => [i.hash, i.range]))
  for (const [field, raw] of Object.entries(query)) {
    const schema = model.schema.properties[field] as TSchema | undefined
    const filter = model.fieldTypes.get(field)?.filter
    if (schema === undefined || filter === undefined) throw invalid(field, `is not a field of ${model.name} that can be filtered on`)
    for (const text of Array.isArray(raw) ? raw.map(String) : [String(raw)]) {
      const condition = parseOne(filter, field, schema, text)
      // An empty string cannot be compared with a key attribute, nor ordered against: DynamoDB refuses both.
      if (condition.values.some((v) => v === '') && (keyFields.has(field) || !(condition.op === 'eq' || condition.op === 'ne'))) {
        throw invalid(field, 'an empty value cannot be compared here')
      }
      conditions.push(condition)
    }
  }
  // DynamoDB's expressions are limited (4 KB, 100 operands for IN): keep a query well inside them.
  if (conditions.reduce((n, c) => n + c.values.length, 0) > MAX_IN) throw validationFailed(`A query may compare at most ${MAX_IN} values in all.`, [{ path: '/querystring', message: `more than ${MAX_IN} values` }])
  return conditions
}

function parseOne (filter: FieldFilter, field: string, schema: TSchema, text: string): Condition {
  const typed = (value: string): Scalar => {
    const parsed = filter.parse(value, schema as Record<string, unknown>)
    if ('error' in parsed) throw invalid(field, parsed.error)
    return parsed.value
  }
  const dot = text.indexOf('.')
  const name = text.slice(0, dot)
  // Own keys only: `__proto__.x` or `constructor.x` must not find Object.prototype's members (a 500 once).
  const op = dot > 0 && Object.hasOwn(OPERATORS, name) ? OPERATORS[name] : undefined
  if (op === undefined) return { field, op: 'eq', values: [storable(field, schema, typed(text))] }
  const operand = text.slice(dot + 1)
  if (!filter.operators.has(op)) throw invalid(field, filter.refused(op, field))
  switch (op) {
    case 'exists':
      if (operand !== 'true' && operand !== 'false') throw invalid(field, 'exists. takes true or false')
      return { field, op, values: [operand === 'true'] }
    case 'in': {
      const list = splitList(operand.replace(/^\((.*)\)$/s, '$1'))
      if (list.length === 0 || list.length > MAX_IN) throw invalid(field, `in. takes 1 to ${MAX_IN} values: in.(a,b,c)`)
      return { field, op, values: list.map((v) => storable(field, schema, typed(v))) }
    }
    case 'between': {
      const pair = splitList(operand)
      if (pair.length !== 2) throw invalid(field, 'between. takes two values: between.low,high')
      const [low, high] = pair.map((v) => typed(v)) as [Scalar, Scalar]
      // DynamoDB orders text by its UTF-8 bytes, not by JavaScript's UTF-16 units.
      const above = typeof low === 'string' ? Buffer.compare(Buffer.from(low), Buffer.from(String(high))) > 0 : low > high
      if (above) throw invalid(field, `between.${String(low)},${String(high)}: the low value is above the high one`)
      return { field, op, values: [low, high] }
    }
    case 'begins_with':
      return { field, op, values: [operand] }
    default:
      if (op === 'eq' || op === 'ne') return { field, op, values: [storable(field, schema, typed(operand))] }
      return { field, op, values: [typed(operand)] }
  }
}

/** Comma-separated values; a value holding a comma is written in double quotes ("a,b"). */
function splitList (text: string): string[] {
  const values: string[] = []
  const pattern = /\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)/gy
  for (let m = pattern.exec(text); m !== null && m.index < text.length; m = pattern.exec(text)) {
    values.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '').trim())
  }
  return values
}

function invalid (field: string, message: string): VersoError {
  const path = `/querystring/${field}`
  return validationFailed(`${path} ${message}.`, [{ path, message }])
}

/** A value compared for (in)equality must be one the field can hold (range, length, pattern, enum). */
function storable (field: string, schema: TSchema, value: Scalar): Scalar {
  const validate = fieldValueValidator(schema)
  if (!validate(value)) throw invalid(field, `${validate.errors?.[0]?.message ?? 'is not a value of this field'}: ${JSON.stringify(value).slice(0, 50)} is not`)
  return value
}
