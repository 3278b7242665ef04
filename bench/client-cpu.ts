/**
 * `npx tsx bench/client-cpu.ts [-- --calls 3000 --rounds 5 --concurrency 16]`: the CPU one consistent GetItem
 * costs the calling process, for the stock SDK client (default config: what a user writes) and for verso's
 * client (createDynamoClient), the latter alone (as the relay calls it) and under a per-call deadline (as a
 * request calls it). Each run is a child process of its own, so that one client's warm-up, garbage or async
 * hooks never land on another's figures; the clients take turns, round after round, and the medians are
 * printed. Uses DYNAMODB_ENDPOINT, else starts a DynamoDB Local of its own.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { startDynamoDbLocal } from '../src/embedded/dynamodb-local.js'
import { boundedSender, createDynamoClient, type DynamoSender } from '../src/storage/client.js'
import { Deadline } from '../src/storage/deadline.js'

const VARIANTS = ['stock SDK', 'stock SDK + abortSignal', 'verso client', 'verso, async context on', 'verso client + deadline'] as const
type Variant = typeof VARIANTS[number]
const TABLE = 'client_cpu_bench'
const KEY = { pk: { S: 'item' } }

interface Run { variant: Variant, cpuMicrosPerCall: number, opsPerSecond: number }

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    child: { type: 'string' },
    endpoint: { type: 'string' }
  }
})

if (values.child !== undefined) {
  const run = await measure(values.child as Variant, String(values.endpoint), Number(values.calls), Number(values.concurrency))
  if (process.send === undefined) process.stdout.write(`${JSON.stringify(run)}\n`) // run alone, e.g. under --cpu-prof
  else process.send(run)
  process.exit(0)
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
const given = process.env.DYNAMODB_ENDPOINT
const dynamo = given === undefined || given === '' ? await startDynamoDbLocal() : undefined
const endpoint = dynamo?.endpoint ?? String(given)
await createTable(endpoint)
const runs: Run[] = []
for (let round = 0; round < Number(values.rounds); round++) {
  // Each round in another order, so that no client always runs right after the same other.
  const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant)
  for (const variant of order) runs.push(await child(variant))
}
await dynamo?.stop()

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? 0 }
const base = median(runs.filter((r) => r.variant === 'stock SDK').map((r) => r.cpuMicrosPerCall))
process.stdout.write(`GetItem (consistent), ${values.calls} calls per run at concurrency ${values.concurrency}, ${values.rounds} runs each, medians\n`)
process.stdout.write(`${'client'.padEnd(28)}${'CPU µs/call'.padStart(12)}${'× stock'.padStart(9)}${'ops/s'.padStart(9)}\n`)
for (const variant of VARIANTS) {
  const mine = runs.filter((r) => r.variant === variant)
  const cpu = median(mine.map((r) => r.cpuMicrosPerCall))
  process.stdout.write(`${variant.padEnd(28)}${cpu.toFixed(0).padStart(12)}${(cpu / base).toFixed(2).padStart(9)}${median(mine.map((r) => r.opsPerSecond)).toFixed(0).padStart(9)}\n`)
}

async function child (variant: Variant): Promise<Run> {
  const proc = fork(fileURLToPath(import.meta.url), ['--child', variant, '--endpoint', endpoint, '--calls', String(values.calls), '--concurrency', String(values.concurrency)], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
  })
  return await new Promise((resolve, reject) => {
    proc.once('message', (run) => { resolve(run as Run) })
    proc.once('exit', (code) => { if (code !== 0) reject(new Error(`${variant}: exit ${String(code)}`)) })
  })
}

function clientFor (variant: Variant, endpoint: string): { sender: () => DynamoSender, close: () => void } {
  if (variant.startsWith('stock SDK')) {
    const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'verso', secretAccessKey: 'verso' } })
    // How verso called the SDK before its own transport: the request's deadline as a per-call option.
    const withSignal = { send: async (command: never) => await client.send(command, { abortSignal: AbortSignal.timeout(10_000) }) } as unknown as DynamoSender
    return { sender: variant === 'stock SDK' ? () => client : () => withSignal, close: () => { client.destroy() } }
  }
  const client = createDynamoClient({ endpoint })
  // Node < 24 tracks the async context with promise hooks once any AsyncLocalStorage is entered (verso's deadline
  // no longer uses one; a library might): what that alone costs.
  if (variant === 'verso, async context on') new AsyncLocalStorage().run(true, () => {})
  // A request's deadline is taken per request, as the repository's withDeadline() does.
  const sender = variant === 'verso client + deadline' ? () => boundedSender(client, Deadline.in(10_000)) : () => client
  return { sender, close: () => { client.destroy() } }
}

async function measure (variant: Variant, endpoint: string, calls: number, concurrency: number): Promise<Run> {
  const { sender, close } = clientFor(variant, endpoint)
  const run = async (n: number): Promise<void> => {
    let left = n
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const { Item } = await sender().send(new GetItemCommand({ TableName: TABLE, Key: KEY, ConsistentRead: true }))
        if (Item === undefined) throw new Error('the item is missing')
      }
    }))
  }
  await run(Math.min(1000, calls)) // warm-up: connections, JIT
  const cpu = process.cpuUsage()
  const started = performance.now()
  await run(calls)
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  close()
  return { variant, cpuMicrosPerCall: (used.user + used.system) / calls, opsPerSecond: calls / seconds }
}

async function createTable (endpoint: string): Promise<void> {
  const client = createDynamoClient({ endpoint })
  await client.send(new CreateTableCommand({
    TableName: TABLE,
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST'
  })).catch((err: Error) => { if (err.name !== 'ResourceInUseException') throw err })
  await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...KEY, name: { S: 'Ada Lovelace' }, born: { N: '1815' }, tags: { SS: ['math', 'poetry'] } } }))
  client.destroy()
}
