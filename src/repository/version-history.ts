import { GetItemCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb'
import type { Model } from '../models/define.js'
import { parseTimestampMicros, ZERO_ID } from '../models/entity.js'
import { guarded } from '../storage/aws-errors.js'
import { fromItem, type Item } from '../storage/item-mapping.js'
import type { Entity } from '../models/entity.js'
import { modelTables } from '../storage/table-names.js'
import type { DynamoSender } from '../storage/client.js'
import { chainReport, type ChainReport } from './integrity.js'

/** Where a history page ends: the last version returned and the version the chain says comes next. */
export interface HistoryCursor {
  after: string
  next: string
  /** The history is not verso-ordered (Rococo's UUIDv4 versions): later pages are read the slow way too. */
  slow?: boolean
}

export interface HistoryQuery {
  limit: number
  cursor?: HistoryCursor
  /** Time bounds in microseconds since the epoch, inclusive. */
  from?: number
  to?: number
}

export interface HistoryPage {
  items: Entity[]
  next?: HistoryCursor
  /** Set when the whole history was read for this page (the slow path): whether it is one chain. */
  chain?: ChainReport
}

/** The version current at an instant, and the chain report when the whole history had to be read for it. */
export interface AsOfAnswer {
  entity: Entity
  chain?: ChainReport
}

const V7 = /^[0-9a-f]{12}7[0-9a-f]{19}$/
const MS_HEX = 12

/** The smallest and largest UUIDv7 (hex) whose timestamp is this millisecond. */
const v7Floor = (micros: number): string => Math.floor(micros / 1000).toString(16).padStart(MS_HEX, '0') + '0'.repeat(20)
const v7Ceiling = (micros: number): string => Math.floor(micros / 1000).toString(16).padStart(MS_HEX, '0') + 'f'.repeat(20)

const micros = (item: Item): number => parseTimestampMicros(item.changed_on?.S ?? '') ?? Number.NaN
const versionOf = (item: Item | undefined): string | undefined => item?.version?.S
const previousOf = (item: Item | undefined): string | undefined => item?.previous_version?.S
const within = (item: Item, q: { from?: number, to?: number }): boolean =>
  (q.from === undefined || micros(item) >= q.from) && (q.to === undefined || micros(item) <= q.to)

/** True when every item links to the next one: items[i].previous_version = items[i + 1].version. */
const linked = (items: readonly Item[]): boolean => items.every((item, i) => i === items.length - 1 || previousOf(item) === versionOf(items[i + 1]))

/**
 * Reads of an entity's past: its versions newest first, one version, and the version current at an instant.
 *
 * verso's versions are UUIDv7 whose time is `changed_on`'s millisecond, so the audit table's range key is in
 * time order and a page is one Query. Whether that holds is checked, not assumed: the items read must link
 * through `previous_version`, across page boundaries too. A history that does not (it holds versions Rococo
 * wrote, UUIDv4) is read whole and sorted by `changed_on` instead: correct, at the cost of reading every
 * version of the entity for each page. A history read whole is also checked for forks and gaps (chainReport),
 * at no further round trip; one read the fast way has just been proven linked along the versions read.
 */
export class VersionHistory {
  constructor (private readonly client: DynamoSender, private readonly prefix: string) {}

  /** One page of versions, newest first; undefined when the entity does not exist. */
  async list (model: Model, id: string, query: HistoryQuery): Promise<HistoryPage | undefined> {
    if (query.cursor?.slow === true) return await this.listSlowly(model, id, query)
    const fast = await this.listFast(model, id, query)
    return fast === 'unordered' ? await this.listSlowly(model, id, query) : fast
  }

  private async listFast (model: Model, id: string, query: HistoryQuery): Promise<HistoryPage | undefined | 'unordered'> {
    const { audit } = modelTables(this.prefix, model)
    const hi = query.to === undefined ? undefined : v7Ceiling(query.to)
    const lo = query.from === undefined ? undefined : v7Floor(query.from)
    const keyRange = rangeCondition(lo, hi)
    const firstPage = query.cursor === undefined
    const [main, page, after] = await Promise.all([
      firstPage ? this.readMain(model, id) : Promise.resolve(undefined),
      this.query({
        TableName: audit,
        KeyConditionExpression: `entity_id = :id${keyRange.condition}`,
        ExpressionAttributeValues: { ':id': { S: id }, ...keyRange.values },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: query.limit + 1,
        ...(query.cursor === undefined ? {} : { ExclusiveStartKey: { entity_id: { S: id }, version: { S: query.cursor.after } } })
      }),
      // The first version after the range: it must link to the newest version in it.
      firstPage && hi !== undefined ? this.firstAfter(model, id, hi) : Promise.resolve(undefined)
    ])
    if (firstPage && main === undefined) return undefined
    const chain = [...(firstPage && main !== undefined && (hi === undefined || versionOf(main)! <= hi || !V7.test(versionOf(main)!)) ? [main] : []), ...page.items]
    if (!chain.every((item) => V7.test(versionOf(item) ?? ''))) return 'unordered'
    if (!linked(chain)) return 'unordered'
    if (query.cursor !== undefined && chain.length > 0 && versionOf(chain[0]) !== query.cursor.next) return 'unordered'
    if (firstPage && hi !== undefined) {
      const successor = after ?? (versionOf(main) === versionOf(chain[0]) ? undefined : main)
      // Nothing read in the range: then the successor's predecessor must be older than the range, or nothing.
      const expected = chain.length > 0 ? versionOf(chain[0]) : undefined
      const previous = previousOf(successor) ?? ''
      // Keys say nothing of time in Rococo histories: the successor must really be after `to`.
      const afterRange = successor === undefined || micros(successor) > query.to!
      const fine = afterRange && (expected !== undefined
        ? successor === undefined || previous === expected
        : previous === ZERO_ID || (lo !== undefined && V7.test(previous) && previous < lo))
      if (!fine) return 'unordered'
    }
    const more = chain.length > query.limit
    const pageItems = chain.slice(0, query.limit)
    const last = pageItems[pageItems.length - 1]
    if (!more && last !== undefined) {
      // The oldest version read: before it there is nothing (creation), or something older than `from`.
      const previous = previousOf(last) ?? ''
      const done = previous === ZERO_ID || (query.from !== undefined && V7.test(previous) && previous < lo!)
      if (!done) return 'unordered'
    }
    return {
      items: pageItems.filter((item) => within(item, query)).map((item) => fromItem(model, item)),
      ...(more && last !== undefined ? { next: { after: versionOf(last)!, next: previousOf(last)! } } : {})
    }
  }

  /** Every version of the entity, sorted by `changed_on` (newest first), then the page after the cursor. */
  private async listSlowly (model: Model, id: string, query: HistoryQuery): Promise<HistoryPage | undefined> {
    const read = await this.everyVersion(model, id)
    if (read === undefined) return undefined
    const { all, chain } = read
    const start = query.cursor === undefined ? 0 : all.findIndex((item) => versionOf(item) === query.cursor?.after) + 1
    const rest = all.slice(start).filter((item) => within(item, query))
    const pageItems = rest.slice(0, query.limit)
    const last = pageItems[pageItems.length - 1]
    return {
      items: pageItems.map((item) => fromItem(model, item)),
      ...(rest.length > query.limit && last !== undefined ? { next: { after: versionOf(last)!, next: previousOf(last) ?? '', slow: true } } : {}),
      chain
    }
  }

  /** Whether the entity's versions form one chain (every version is read); undefined when it does not exist. */
  async integrity (model: Model, id: string): Promise<ChainReport | undefined> {
    return (await this.everyVersion(model, id))?.chain
  }

  /** A replaced version, from the audit table. */
  async pastVersion (model: Model, id: string, version: string): Promise<Item | undefined> {
    const { Item } = await guarded(this.client.send(new GetItemCommand({ TableName: modelTables(this.prefix, model).audit, Key: { entity_id: { S: id }, version: { S: version } }, ConsistentRead: true })))
    return Item
  }

  /** One version, past or current (one round trip: both tables are read at once). */
  async version (model: Model, id: string, version: string): Promise<Entity | undefined> {
    const [past, main] = await Promise.all([this.pastVersion(model, id, version), this.readMain(model, id)])
    const item = past ?? (versionOf(main) === version ? main : undefined)
    return item === undefined ? undefined : fromItem(model, item)
  }

  /**
   * The version that was current at `at` (microseconds): the main item, the newest audit version at or
   * before that instant and the first one after it are read at once (one round trip). The answer is proven by
   * the chain: the version after the instant must name the candidate as its predecessor. When it does not,
   * every version is read, and the answer carries the chain report.
   */
  async asOf (model: Model, id: string, at: number): Promise<AsOfAnswer | undefined> {
    const found = await this.itemAsOf(model, id, at)
    if (found?.item === undefined) return undefined
    return { entity: fromItem(model, found.item), ...(found.chain === undefined ? {} : { chain: found.chain }) }
  }

  private async itemAsOf (model: Model, id: string, at: number): Promise<{ item?: Item, chain?: ChainReport } | undefined> {
    const { audit } = modelTables(this.prefix, model)
    const bound = v7Ceiling(at)
    const [main, before, after] = await Promise.all([
      this.readMain(model, id),
      this.query({
        TableName: audit,
        KeyConditionExpression: 'entity_id = :id AND version <= :bound',
        ExpressionAttributeValues: { ':id': { S: id }, ':bound': { S: bound } },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 2
      }),
      this.firstAfter(model, id, bound)
    ])
    if (main === undefined) return undefined
    if (micros(main) <= at) return { item: main }
    // At most one version per millisecond, so of the two read before the bound one may still be after `at`.
    const candidate = before.items.find((item) => micros(item) <= at)
    const successor = before.items.find((item) => micros(item) > at) ?? after ?? main
    // With UUIDv4 keys (Rococo) the item after the bound by key may still be before `at` in time: check both.
    if (micros(successor) > at && previousOf(successor) === (versionOf(candidate) ?? ZERO_ID)) return { ...(candidate === undefined ? {} : { item: candidate }) }
    const read = await this.everyVersion(model, id)
    if (read === undefined) return undefined
    const item = read.all.find((item) => micros(item) <= at)
    return { ...(item === undefined ? {} : { item }), chain: read.chain }
  }

  private async firstAfter (model: Model, id: string, bound: string): Promise<Item | undefined> {
    const page = await this.query({
      TableName: modelTables(this.prefix, model).audit,
      KeyConditionExpression: 'entity_id = :id AND version > :bound',
      ExpressionAttributeValues: { ':id': { S: id }, ':bound': { S: bound } },
      ConsistentRead: true,
      Limit: 1
    })
    return page.items[0]
  }

  /** The slow path: the main item and the whole audit partition, newest `changed_on` first, and whether they are one chain. */
  private async everyVersion (model: Model, id: string): Promise<{ all: Item[], chain: ChainReport } | undefined> {
    const main = await this.readMain(model, id)
    if (main === undefined) return undefined
    const items: Item[] = []
    let start: Item | undefined
    do {
      const page = await this.query({
        TableName: modelTables(this.prefix, model).audit,
        KeyConditionExpression: 'entity_id = :id',
        ExpressionAttributeValues: { ':id': { S: id } },
        ConsistentRead: true,
        ...(start === undefined ? {} : { ExclusiveStartKey: start })
      })
      items.push(...page.items)
      start = page.lastKey
    } while (start !== undefined)
    const chain = chainReport(main, items)
    items.push(main)
    return { all: items.sort((a, b) => micros(b) - micros(a) || (versionOf(b) ?? '').localeCompare(versionOf(a) ?? '')), chain }
  }

  private async readMain (model: Model, id: string): Promise<Item | undefined> {
    const { Item } = await guarded(this.client.send(new GetItemCommand({ TableName: modelTables(this.prefix, model).main, Key: { entity_id: { S: id } }, ConsistentRead: true })))
    return Item
  }

  private async query (input: QueryCommandInput): Promise<{ items: Item[], lastKey?: Item }> {
    const result = await guarded(this.client.send(new QueryCommand(input)))
    return { items: result.Items ?? [], ...(result.LastEvaluatedKey === undefined ? {} : { lastKey: result.LastEvaluatedKey }) }
  }
}

function rangeCondition (lo: string | undefined, hi: string | undefined): { condition: string, values: Item } {
  if (lo !== undefined && hi !== undefined) return { condition: ' AND version BETWEEN :lo AND :hi', values: { ':lo': { S: lo }, ':hi': { S: hi } } }
  if (lo !== undefined) return { condition: ' AND version >= :lo', values: { ':lo': { S: lo } } }
  if (hi !== undefined) return { condition: ' AND version <= :hi', values: { ':hi': { S: hi } } }
  return { condition: '', values: {} }
}
