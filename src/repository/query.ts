import { marshall, NumberValueImpl, type NumberValue } from '@aws-sdk/util-dynamodb'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { badRequest } from '../errors.js'
import type { Model, ModelIndexDefinition } from '../models/define.js'
import type { Operator, Scalar } from '../models/field-types/index.js'

export type { Operator, Scalar }

/** One condition of a list query: `field op values`. A NumberValue only where the planner needs DynamoDB's exact bound. */
export interface Condition {
  field: string
  op: Operator
  values: Array<Scalar | NumberValue>
}

/** How a list query reads: a Query on a secondary index (its hash field compared for equality), or a Scan. */
export type Plan =
  | { kind: 'index', index: ModelIndexDefinition, key: Condition[], filter: Condition[] }
  | { kind: 'scan', filter: Condition[] }

const KEY_OPERATORS = new Set<Operator>(['eq', 'lt', 'lte', 'gt', 'gte', 'between', 'begins_with'])
/** What a range key condition names as "any value": a key is never an empty string, nor a number below DynamoDB's lowest. */
const LOWEST = { S: '\u0000', N: NumberValueImpl.from('-9.9999999999999999999999999999999999999E+125') }

export const describePlan = (plan: Plan): string => plan.kind === 'index' ? `index:${plan.index.name}` : 'scan'

const present = (c: Condition, field: string): boolean => c.field === field && c.op === 'exists' && c.values[0] === true

/**
 * Chooses the access path. A GSI holds only the items that have every one of its key attributes, and another
 * writer may store an item without any field, so an index serves only conditions that themselves leave out every
 * item lacking one: equality on its hash field and, when it has a range field, a condition on that field DynamoDB
 * applies in the key (eq, lt, lte, gt, gte, between, begins_with, or exists.true read as "from the lowest value
 * up"). Then the Query returns exactly what a Scan with the same filter returns; anything else is a Scan.
 * Ordering exists only along an index's range field, so `order` without such a plan is refused rather than ignored.
 */
export function planQuery (model: Model, conditions: readonly Condition[], order?: 'asc' | 'desc'): Plan {
  const candidates: Array<Plan & { kind: 'index' }> = []
  for (const index of model.indexes) {
    const hash = conditions.find((c) => c.field === index.hash && c.op === 'eq')
    if (hash === undefined) continue
    const key = [hash]
    if (index.range !== undefined) {
      const range = rangeKeyCondition(model, index.range, conditions)
      if (range === undefined) continue
      key.push(range)
    }
    // exists.true on a key field is what the key implies already.
    const filter = conditions.filter((c) => !key.includes(c) && !present(c, index.hash) && !(index.range !== undefined && present(c, index.range)))
    // DynamoDB refuses a FilterExpression on the index's own key attributes: such a plan cannot serve.
    if (filter.some((c) => c.field === index.hash || c.field === index.range)) continue
    if (order !== undefined && index.range === undefined) continue
    candidates.push({ kind: 'index', index, key, filter })
  }
  const best = candidates.sort((a, b) => b.key.length - a.key.length)[0]
  if (best !== undefined) return best
  if (order !== undefined) throw badRequest(`order needs an index with a range field, an equality filter on its hash field, one condition on its range field, and no other condition on those two: ${sortable(model)}.`)
  return { kind: 'scan', filter: [...conditions] }
}

/** The condition on an index's range field that goes in the key: one DynamoDB takes there, else exists.true as "at least the lowest value". */
function rangeKeyCondition (model: Model, field: string, conditions: readonly Condition[]): Condition | undefined {
  const keyed = conditions.find((c) => c.field === field && KEY_OPERATORS.has(c.op))
  if (keyed !== undefined) return keyed
  if (!conditions.some((c) => present(c, field))) return undefined
  return { field, op: 'gte', values: [LOWEST[model.fieldTypes.get(field)?.keyType ?? 'N']] }
}

/** The filters that an index would serve, for a refused scan or sort: `author=<value>&title=exists.true (index author)`. */
export function indexedFilters (model: Pick<Model, 'indexes'>, ranged = false): string[] {
  return model.indexes
    .filter((i) => !ranged || i.range !== undefined)
    .map((i) => `${i.hash}=<value>${i.range === undefined ? '' : `&${i.range}=<eq|lt|lte|gt|gte|between|begins_with|exists.true>`} (index ${i.name})`)
}

function sortable (model: Model): string {
  const ranged = indexedFilters(model, true)
  return ranged.length === 0 ? `${model.name} has no index with a range field` : ranged.join('; ')
}

/** Placeholders for names and values: no field name or value is ever written into an expression. */
export class ExpressionBuilder {
  readonly names: Record<string, string> = {}
  private readonly values: Record<string, unknown> = {}
  private n = 0

  name (field: string): string {
    const existing = Object.entries(this.names).find(([, f]) => f === field)?.[0]
    if (existing !== undefined) return existing
    const placeholder = `#n${Object.keys(this.names).length}`
    this.names[placeholder] = field
    return placeholder
  }

  value (value: unknown): string {
    const placeholder = `:v${this.n++}`
    this.values[placeholder] = value
    return placeholder
  }

  condition (c: Condition): string {
    const f = this.name(c.field)
    const [a, b] = c.values
    switch (c.op) {
      case 'eq': return `${f} = ${this.value(a)}`
      // As in SQL and PostgREST: an absent value is not "not equal" to anything.
      case 'ne': return `(attribute_exists(${f}) AND ${f} <> ${this.value(a)})`
      case 'lt': return `${f} < ${this.value(a)}`
      case 'lte': return `${f} <= ${this.value(a)}`
      case 'gt': return `${f} > ${this.value(a)}`
      case 'gte': return `${f} >= ${this.value(a)}`
      case 'begins_with': return `begins_with(${f}, ${this.value(a)})`
      case 'between': return `${f} BETWEEN ${this.value(a)} AND ${this.value(b)}`
      case 'in': return `${f} IN (${c.values.map((v) => this.value(v)).join(', ')})`
      case 'exists': return a === true ? `attribute_exists(${f})` : `attribute_not_exists(${f})`
    }
  }

  attributeValues (): Record<string, AttributeValue> | undefined {
    // As item mapping writes them: a filter number beyond 2^53 (age=lte.40008000000000000000) is compared as
    // the client wrote it, where marshall's default would throw (a 500).
    return Object.keys(this.values).length === 0 ? undefined : marshall(this.values, { allowImpreciseNumbers: true })
  }

  attributeNames (): Record<string, string> | undefined {
    return Object.keys(this.names).length === 0 ? undefined : this.names
  }
}
