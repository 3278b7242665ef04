/**
 * `npm run bench:query [-- --items 10000]`: loads N books (12 authors) into its own DynamoDB Local and reads
 * 100 books of one author two ways, through the service: by the `author` index (a Query per page) and by a
 * filter no index serves (a Scan per page). Prints pages, DynamoDB calls and read capacity per page and in all,
 * side by side, with the scan's figures as a ratio of the index's.
 */
import { parseArgs } from 'node:util'
import { BatchWriteItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb'
import { buildApp } from '../src/app.js'
import { startDynamoDbLocal } from '../src/embedded/dynamodb-local.js'
import { Book } from '../src/models/book.js'
import { models } from '../src/models/index.js'
import { newEntityId, nextVersionStamp, ZERO_ID } from '../src/models/entity.js'
import { countCalls, createDynamoClient } from '../src/storage/client.js'
import { toItem } from '../src/storage/item-mapping.js'
import { modelTables } from '../src/storage/table-names.js'
import { ensureTables } from '../src/storage/table-setup.js'

const { values } = parseArgs({ options: { items: { type: 'string', default: '10000' } } })
const total = Number(values.items)
const dynamo = await startDynamoDbLocal()
const client = createDynamoClient({ endpoint: dynamo.endpoint })
const prefix = 'benchq_'
await ensureTables(client, prefix, models)

// Capacity: the middleware asks every read for its consumed capacity and adds it up.
let capacity = 0
client.middlewareStack.add((next) => async (args) => {
  const input = args.input as { ReturnConsumedCapacity?: string }
  input.ReturnConsumedCapacity = 'TOTAL'
  const result = await next(args)
  capacity += (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity?.CapacityUnits ?? 0
  return result
}, { step: 'initialize', name: 'benchCapacity' })
const calls = countCalls(client)

const table = modelTables(prefix, Book).main
const requests: WriteRequest[] = Array.from({ length: total }, (_, n) => ({
  PutRequest: {
    Item: toItem(Book, {
      entity_id: newEntityId(),
      ...nextVersionStamp(),
      previous_version: ZERO_ID,
      active: true,
      changed_by_id: ZERO_ID,
      title: `Title ${String(n).padStart(6, '0')}`,
      author: `Author ${n % 12}`,
      status: 'to_read',
      rating: (n % 5) + 1
    })
  }
}))
for (let i = 0; i < requests.length; i += 25 * 8) {
  await Promise.all(Array.from({ length: 8 }, async (_, k) => {
    let batch = requests.slice(i + k * 25, i + (k + 1) * 25)
    while (batch.length > 0) {
      const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } }))
      batch = UnprocessedItems?.[table] ?? []
    }
  }))
}

const app = await buildApp({ config: { TABLE_PREFIX: prefix, OUTBOX_SHARDS: 16, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1 << 20, REQUEST_TIMEOUT_MS: 30000 }, dynamo: client })
await app.ready()

interface Run { plan: string, items: number, pages: number, calls: number, capacity: number, ms: number }
async function read (query: string, want: number): Promise<Run> {
  for (const key of Object.keys(calls)) delete calls[key]
  capacity = 0
  const started = performance.now()
  let items = 0
  let pages = 0
  let plan = ''
  let cursor: string | null = null
  do {
    const res = await app.inject({ method: 'GET', url: `/book?${query}&limit=20${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}` })
    const body = JSON.parse(res.body) as { items: unknown[], next_cursor: string | null }
    plan = String(res.headers['x-query-plan'])
    items += body.items.length
    cursor = body.next_cursor
    pages++
  } while (cursor !== null && items < want)
  return { plan, items, pages, calls: Object.values(calls).reduce((a, b) => a + b, 0), capacity, ms: performance.now() - started }
}

const want = 100
const byIndex = await read('author=Author%205&title=exists.true', want)
// The same books, but asked for in a way no index serves: every page is a Scan page.
const byScan = await read('author=in.(Author 5)', want)
await app.close()
client.destroy()
await dynamo.stop()

const rows: Array<[string, (r: Run) => string, (a: Run, b: Run) => string]> = [
  ['X-Query-Plan', (r) => r.plan, () => ''],
  ['books returned', (r) => String(r.items), () => ''],
  ['pages (= DynamoDB calls)', (r) => `${r.pages} (${r.calls})`, (a, b) => `${(b.calls / a.calls).toFixed(1)}×`],
  ['calls per page', (r) => (r.calls / r.pages).toFixed(2), () => ''],
  ['read capacity in all', (r) => r.capacity.toFixed(1), (a, b) => `${(b.capacity / a.capacity).toFixed(1)}×`],
  ['read capacity per page', (r) => (r.capacity / r.pages).toFixed(2), () => ''],
  ['read capacity per book returned', (r) => (r.capacity / Math.max(1, r.items)).toFixed(3), (a, b) => `${((b.capacity / b.items) / (a.capacity / a.items)).toFixed(1)}×`],
  ['time', (r) => `${r.ms.toFixed(0)} ms`, (a, b) => `${(b.ms / a.ms).toFixed(1)}×`]
]
process.stdout.write(`\nverso query benchmark: ${want} books of one author out of ${total} (12 authors), pages of 20 (${new Date().toISOString()})\n`)
process.stdout.write('Read capacity is what DynamoDB Local reports with ReturnConsumedCapacity=TOTAL; on AWS a Scan page of 20 items costs by the bytes it reads.\n\n')
process.stdout.write(`  ${'figure'.padEnd(34)}${'by index'.padEnd(16)}${'by scan'.padEnd(16)}scan ÷ index\n`)
for (const [label, value, ratio] of rows) process.stdout.write(`  ${label.padEnd(34)}${value(byIndex).padEnd(16)}${value(byScan).padEnd(16)}${ratio(byIndex, byScan)}\n`)
