import { GetItemCommand, QueryCommand, ScanCommand, type QueryCommandInput, type ScanCommandInput } from '@aws-sdk/client-dynamodb'
import type { Model } from '../models/define.js'
import type { Entity } from '../models/entity.js'
import { guarded } from '../storage/aws-errors.js'
import type { DynamoSender } from '../storage/client.js'
import { fromItem, type Item } from '../storage/item-mapping.js'
import { modelTables } from '../storage/table-names.js'
import type { IdempotencyClaim, IdempotencyRecords } from './idempotency-records.js'
import { ExpressionBuilder, type Plan } from './query.js'
import type { VersionHistory } from './version-history.js'

/** Reads of current entities: one item, a page of a Query or Scan, a count, and the items a write is based on. */

export interface ReadSettings {
  client: DynamoSender
  tablePrefix: string
}

export interface ListOptions {
  /** The access path and the conditions it carries (planQuery in ./query.ts). */
  plan: Plan
  limit: number
  startKey?: Item
  includeDeleted: boolean
  /** Along the index's range field; only with an index plan that has one. */
  order?: 'asc' | 'desc'
  /** Attributes to return (entity_id is always returned). */
  fields?: readonly string[]
}

export interface Page {
  items: Entity[]
  /** Where the next page starts; absent on the last page. */
  lastKey?: Item
}

export interface CountResult {
  count: number
  /** Items DynamoDB read to find them. */
  scanned: number
  pages: number
  /** False when the page or time budget ran out first: `count` is then a lower bound. */
  complete: boolean
}

/** Pages and time one count may spend before it answers with what it has. */
const COUNT_BUDGET = { pages: 100, ms: 5000 }

/** The stored item of an entity, soft-deleted ones included. One consistent GetItem. */
export async function readItem (client: DynamoSender, table: string, id: string): Promise<Item | undefined> {
  const { Item } = await guarded(client.send(new GetItemCommand({ TableName: table, Key: { entity_id: { S: id } }, ConsistentRead: true })))
  return Item
}

/** Current state of an entity, soft-deleted ones included (the caller decides whether to show them). */
export async function readEntity (settings: ReadSettings, model: Model, id: string): Promise<Entity | undefined> {
  const item = await readItem(settings.client, modelTables(settings.tablePrefix, model).main, id)
  return item === undefined ? undefined : fromItem(model, item)
}

/**
 * Consistent reads of the items writes are based on, all at once, then of the idempotency record when there
 * is a claim: a retry of a committed request is answered from it (thrown as IdempotentReplay, or 422 for
 * another request) before its preconditions, which the first request's own commit has made stale, are
 * checked. The record is read after the items, not beside them: an item that already shows the first
 * request's commit then guarantees its record shows too (they commit together), so a retry racing the first
 * request can never see a stale precondition without the record that answers it.
 */
export async function readForWrite (settings: ReadSettings & { idempotency: IdempotencyRecords }, keys: ReadonlyArray<{ model: Model, id: string }>, claim?: IdempotencyClaim<never>): Promise<Array<Item | undefined>> {
  const items = await Promise.all(keys.map(async ({ model, id }) => await readItem(settings.client, modelTables(settings.tablePrefix, model).main, id)))
  const claimed = await settings.idempotency.lookup(claim)
  if (claim !== undefined && claimed !== undefined) throw settings.idempotency.outcome(claim, claimed)
  return items
}

/**
 * One page of the plan's Query or Scan (one round trip). DynamoDB applies `Limit` before the filter, so a
 * page may hold fewer items than `limit` (none, even) and still have a next page.
 */
export async function listPage (settings: ReadSettings, model: Model, options: ListOptions): Promise<Page> {
  const command = readCommand(settings.tablePrefix, model, options, { Limit: options.limit, ...(options.startKey === undefined ? {} : { ExclusiveStartKey: options.startKey }) })
  const result = await guarded(settings.client.send(command))
  return {
    items: (result.Items ?? []).map((item) => fromItem(model, item)),
    ...(result.LastEvaluatedKey === undefined ? {} : { lastKey: result.LastEvaluatedKey })
  }
}

/** How many entities match: Select COUNT over as many pages as the budget allows. */
export async function countMatching (settings: ReadSettings, model: Model, options: Pick<ListOptions, 'plan' | 'includeDeleted'>): Promise<CountResult> {
  const started = Date.now()
  const result: CountResult = { count: 0, scanned: 0, pages: 0, complete: false }
  let startKey: Item | undefined
  while (result.pages < COUNT_BUDGET.pages && Date.now() - started < COUNT_BUDGET.ms) {
    const command = readCommand(settings.tablePrefix, model, options, { Select: 'COUNT', ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) })
    const page = await guarded(settings.client.send(command))
    result.pages++
    result.count += page.Count ?? 0
    result.scanned += page.ScannedCount ?? 0
    startKey = page.LastEvaluatedKey
    if (startKey === undefined) {
      result.complete = true
      break
    }
  }
  return result
}

/** The Query (index plan) or Scan of a plan, soft-deleted items filtered out unless asked for. */
function readCommand (tablePrefix: string, model: Model, options: Pick<ListOptions, 'plan' | 'includeDeleted' | 'order' | 'fields'>, extra: Partial<QueryCommandInput & ScanCommandInput>): QueryCommand | ScanCommand {
  const { plan } = options
  const expressions = new ExpressionBuilder()
  const filter = plan.filter.map((c) => expressions.condition(c))
  if (model.versioned && !options.includeDeleted) {
    filter.push(`(attribute_not_exists(${expressions.name('active')}) OR ${expressions.name('active')} <> ${expressions.value(false)})`)
  }
  const key = plan.kind === 'index' ? plan.key.map((c) => expressions.condition(c)).join(' AND ') : undefined
  const projection = options.fields === undefined
    ? undefined
    : [...new Set(['entity_id', ...options.fields])].map((f) => expressions.name(f)).join(', ')
  const input = {
    TableName: modelTables(tablePrefix, model).main,
    ...(filter.length === 0 ? {} : { FilterExpression: filter.join(' AND ') }),
    ...(projection === undefined ? {} : { ProjectionExpression: projection }),
    ...extra
  }
  const names = expressions.attributeNames()
  const values = expressions.attributeValues()
  const placeholders = { ...(names === undefined ? {} : { ExpressionAttributeNames: names }), ...(values === undefined ? {} : { ExpressionAttributeValues: values }) }
  if (plan.kind === 'scan') return new ScanCommand({ ...input, ...placeholders })
  return new QueryCommand({
    ...input,
    ...placeholders,
    IndexName: plan.index.name,
    KeyConditionExpression: key,
    ScanIndexForward: options.order !== 'desc'
  })
}

/**
 * Starts reading the audit item of a past version, for a restore, while the current item is read. Its
 * failure surfaces where it is awaited, never as an unhandled rejection before that.
 */
export function startPastRead (history: VersionHistory, model: Model, id: string, version: string): Promise<Item | undefined> {
  const past = history.pastVersion(model, id, version)
  past.catch(() => {})
  return past
}
