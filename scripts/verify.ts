/**
 * `npm run verify -- <model> [--segments 4] [--concurrency 8] [--json]`: checks that the versions of every entity
 * of a versioned model form one chain (no fork, no gap), as GET /{model}/{id}/integrity does for one. The main
 * table is read by a parallel Scan (`--segments` segments at once); for each item, its audit partition is read
 * by Query (`--concurrency` at once per segment), projected on the chain attributes. Memory holds one Scan page
 * per segment and the versions of the entities being checked, never a whole table. Progress on stderr; the
 * report on stdout; exits 1 when any chain is broken, 0 when all are linear, 2 when the check cannot run.
 *
 * Reads DYNAMODB_ENDPOINT, AWS_REGION, TABLE_PREFIX and MODELS_DIR as verso does. Run beside live writers it
 * reports no false break: the audit table only grows, so a main item read before a write still finds its
 * predecessors, and versions written after the scan read it only add children that are in the chain.
 */
import { DescribeTableCommand, paginateQuery, paginateScan, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { Model } from '../src/models/define.js'
import { loadModels } from '../src/models/load-models.js'
import { CHAIN_ATTRIBUTES, chainReport, type ChainReport, type VersionRef } from '../src/repository/integrity.js'
import { createDynamoClient } from '../src/storage/client.js'
import type { Item } from '../src/storage/item-mapping.js'
import { modelTables } from '../src/storage/table-names.js'

export interface VerifyOptions {
  client: DynamoDBClient
  prefix: string
  model: Model
  /** Scan segments read at once (DynamoDB's TotalSegments). */
  segments: number
  /** Audit Queries at once, per segment. */
  concurrency: number
  /** Broken entities listed in full; those past it are counted only, so memory stays bounded. */
  maxListed?: number
  /** Where progress goes; stderr by default. */
  progress?: NodeJS.WritableStream & { isTTY?: boolean }
  /** Least time between two progress lines, in ms (a final line is always written). */
  progressEveryMs?: number
}

export interface BrokenEntity { entity_id: string, report: ChainReport }

export interface VerifyResult {
  model: string
  entities: number
  versions: number
  /** Entities whose chain is broken; `listed` of them in full. */
  broken: number
  listed: BrokenEntity[]
}

const NAMES = Object.fromEntries(CHAIN_ATTRIBUTES.map((name, i) => [`#a${i}`, name]))
const PROJECTION = Object.keys(NAMES).join(', ')

/** Checks every entity of `model`; resolves to the counts and the broken chains. */
export async function verifyModel (options: VerifyOptions): Promise<VerifyResult> {
  const { client, model } = options
  if (!model.versioned) throw new Error(`${model.name} is not versioned: it has no version chains`)
  const { main, audit } = modelTables(options.prefix, model)
  const maxListed = options.maxListed ?? 1000
  const out = options.progress ?? process.stderr
  const result: VerifyResult = { model: model.path, entities: 0, versions: 0, broken: 0, listed: [] }
  // DescribeTable's ItemCount is refreshed about every six hours: an estimate for the progress line only.
  const estimate = (await client.send(new DescribeTableCommand({ TableName: main }))).Table?.ItemCount
  const started = Date.now()
  let shownAt = 0
  let segmentsDone = 0
  const show = (final = false): void => {
    const now = Date.now()
    if (!final && now - shownAt < (options.progressEveryMs ?? 1000)) return
    shownAt = now
    const line = `${model.path}: ${result.entities}${estimate === undefined ? '' : ` of ~${estimate}`} entities checked, ${result.broken} broken` +
      ` (${segmentsDone}/${options.segments} segments done, ${((now - started) / 1000).toFixed(1)} s)`
    out.write(out.isTTY === true ? `\r${line}${final ? '\n' : ''}` : `${line}\n`)
  }

  const check = async (current: Item): Promise<void> => {
    const id = current.entity_id?.S
    if (id === undefined) return
    const items: Item[] = []
    // Consistent: a predecessor audited just before the main item was read must be seen.
    const pages = paginateQuery({ client }, {
      TableName: audit,
      KeyConditionExpression: '#a0 = :id',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: { ':id': { S: id } },
      ProjectionExpression: PROJECTION,
      ConsistentRead: true
    })
    for await (const page of pages) items.push(...(page.Items ?? []))
    const report = chainReport(current, items)
    result.entities++
    result.versions += report.versions
    if (!report.linear) {
      result.broken++
      if (result.listed.length < maxListed) result.listed.push({ entity_id: id, report })
    }
    show()
  }

  await Promise.all(Array.from({ length: options.segments }, async (_, segment) => {
    const pages = paginateScan({ client }, { TableName: main, Segment: segment, TotalSegments: options.segments, ExpressionAttributeNames: NAMES, ProjectionExpression: PROJECTION })
    for await (const page of pages) await eachLimited(page.Items ?? [], options.concurrency, check)
    segmentsDone++
  }))
  show(true)
  result.listed.sort((a, b) => a.entity_id.localeCompare(b.entity_id))
  return result
}

/** Runs `fn` on every item, at most `limit` at a time. */
async function eachLimited<T> (items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!)
  }))
}

const describe = (v: VersionRef): string =>
  `${v.version}${v.changed_on === undefined ? '' : ` (${v.changed_on}${v.changed_by_id === undefined ? '' : ` by ${v.changed_by_id}`})`}`

/** The report as text: the counts, then each broken entity with its forks (the child now current marked) and gaps. */
export function formatReport (result: VerifyResult): string {
  const lines = [`${result.model}: ${result.entities} entities checked, ${result.versions} versions, ${result.broken} broken`]
  for (const { entity_id: id, report } of result.listed) {
    const child = (v: VersionRef): string => `${describe(v)}${v.version === report.current_version ? ' [current]' : ''}`
    for (const fork of report.forks) lines.push(`${id}: fork at ${describe(fork.parent)}: ${fork.children.map(child).join(', ')}`)
    for (const gap of report.gaps) lines.push(`${id}: gap: ${gap.version} is stored nowhere, named by ${gap.named_by.map(describe).join(', ')}`)
  }
  if (result.broken > result.listed.length) lines.push(`… and ${result.broken - result.listed.length} more broken entities`)
  return lines.join('\n') + '\n'
}

const USAGE = 'usage: npm run verify -- <model> [--segments 4] [--concurrency 8] [--json]\n'

async function main (): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      segments: { type: 'string', default: '4' },
      concurrency: { type: 'string', default: '8' },
      json: { type: 'boolean', default: false }
    }
  })
  const segments = Number(values.segments)
  const concurrency = Number(values.concurrency)
  const wanted = positionals[0]
  if (wanted === undefined || positionals.length > 1 || !Number.isInteger(segments) || segments < 1 || segments > 1_000_000 || !Number.isInteger(concurrency) || concurrency < 1) {
    process.stderr.write(USAGE)
    return 2
  }
  const env = process.env
  const models = loadModels(env.MODELS_DIR === '' ? undefined : env.MODELS_DIR)
  const model = models.find((m) => m.path === wanted || m.name.toLowerCase() === wanted.toLowerCase())
  if (model === undefined) {
    process.stderr.write(`no model ${wanted}: one of ${models.map((m) => m.path).join(', ')}\n`)
    return 2
  }
  const endpoint = env.DYNAMODB_ENDPOINT === '' ? undefined : env.DYNAMODB_ENDPOINT
  const region = env.AWS_REGION === '' ? undefined : env.AWS_REGION
  const client = createDynamoClient({ ...(endpoint === undefined ? {} : { endpoint }), ...(region === undefined ? {} : { region }) })
  try {
    const result = await verifyModel({ client, prefix: env.TABLE_PREFIX ?? '', model, segments, concurrency })
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatReport(result))
    return result.broken > 0 ? 1 : 0
  } finally {
    client.destroy()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => { process.exitCode = code }, (err: unknown) => {
    process.stderr.write(`verify failed: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 2
  })
}
