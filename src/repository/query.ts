import { marshall } from '@aws-sdk/util-dynamodb'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { badRequest } from '../errors.js'
import type { Model, ModelIndexDefinition } from '../models/define.js'

export type Operator = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'begins_with' | 'between' | 'in' | 'exists'
export type Scalar = string | number | boolean

/** One condition of a list query: `field op values`. */
export interface Condition {
  field: string
  op: Operator
  values: Scalar[]
}

/** How a list query reads: a Query on a secondary index (its hash field compared for equality), or a Scan. */
export type Plan =
  | { kind: 'index', index: ModelIndexDefinition, key: Condition[], filter: Condition[] }
  | { kind: 'scan', filter: Condition[] }

const KEY_OPERATORS = new Set<Operator>(['eq', 'lt', 'lte', 'gt', 'gte', 'between', 'begins_with'])

export const describePlan = (plan: Plan): string => plan.kind === 'index' ? `index:${plan.index.name}` : 'scan'

/**
 * Chooses the access path: an index whose hash field has an equality condition (preferring one whose range
 * field is constrained too, which DynamoDB then applies in the key), else a Scan. Ordering exists only along
 * an index's range field, so `order` without such a plan is refused rather than ignored.
 */
export function planQuery (model: Model, conditions: readonly Condition[], order?: 'asc' | 'desc'): Plan {
  const candidates: Array<{ plan: Plan & { kind: 'index' }, score: number }> = []
  for (const index of model.indexes) {
    const hash = conditions.find((c) => c.field === index.hash && c.op === 'eq')
    if (hash === undefined) continue
    const range = index.range === undefined ? undefined : conditions.find((c) => c.field === index.range && KEY_OPERATORS.has(c.op))
    const key = range === undefined ? [hash] : [hash, range]
    const filter = conditions.filter((c) => !key.includes(c))
    // DynamoDB refuses a FilterExpression on the index's own key attributes: such a plan cannot serve.
    if (filter.some((c) => c.field === index.hash || c.field === index.range)) continue
    if (order !== undefined && index.range === undefined) continue
    candidates.push({ plan: { kind: 'index', index, key, filter }, score: key.length })
  }
  const best = candidates.sort((a, b) => b.score - a.score)[0]
  if (best !== undefined) return best.plan
  if (order !== undefined) throw badRequest(`order needs an equality filter on the hash field of an index with a range field, and no other condition on that index's fields: ${sortable(model)}.`)
  return { kind: 'scan', filter: [...conditions] }
}

function sortable (model: Model): string {
  const ranged = model.indexes.filter((i) => i.range !== undefined)
  return ranged.length === 0
    ? `${model.name} has no index with a range field`
    : ranged.map((i) => `${i.hash}=<value> sorts by ${String(i.range)} (index ${i.name})`).join('; ')
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
