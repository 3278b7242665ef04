/**
 * `npm run bench [-- --quick] [-- --concurrency 16]`: verso against the same DynamoDB work done directly.
 *
 * Starts its own DynamoDB Local and its own verso (the production build, `node dist/bin/server.js`, LOG_LEVEL=warn,
 * relay off so only the API is measured). For each scenario it runs, in alternating rounds at the same
 * concurrency, each twice:
 * - verso: the operation over HTTP (an undici Pool as the load generator);
 * - stock SDK: the DynamoDB calls verso makes for it, made from this process with a plain
 *   `new DynamoDBClient({ endpoint, region, credentials })`, default configuration: what a user would write,
 *   and the baseline of the goals;
 * - verso's client: the same calls through `createDynamoClient` (src/storage/client.ts), what verso's storage
 *   layer can reach;
 * - floor (GetItem only): the same signed request by hand, undici + SigV4 (bench/floor.ts).
 * Prints ops/s, p50/p99 latency and the CPU µs per operation of each process (verso's from /proc/<pid>/stat,
 * this process's from process.cpuUsage), the ratios verso / stock SDK, the DynamoDB calls per operation
 * (counted in verso by an SDK middleware, read from its /_stats route), verso's peak RSS, and a CPU breakdown
 * per request of verso (HTTP/fastify, HTTP/node, verso, SDK, GC, other) from a --cpu-prof of a second verso
 * process that serves one extra round per scenario (so the timed verso runs unprofiled). Writes a JSON file
 * and an SVG chart to bench/results/. `--only update,get` runs the scenarios whose names contain those words;
 * `--seconds N` sets the round length, `--warmup N` the seconds every side runs untimed first (15; 4 quick).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { BatchWriteItemCommand, DynamoDBClient, GetItemCommand, QueryCommand, TransactWriteItemsCommand, type TransactWriteItem, type WriteRequest } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import { Pool, type Dispatcher } from 'undici'
import { freeLoopbackPort, startDynamoDbLocal } from '../src/embedded/dynamodb-local.js'
import { Person } from '../src/models/person.js'
import { newEntityId, nextVersionStamp, ZERO_ID } from '../src/models/entity.js'
import { buildEvent, outboxItem } from '../src/outbox/event.js'
import { createDynamoClient } from '../src/storage/client.js'
import { toItem } from '../src/storage/item-mapping.js'
import type { Entity } from '../src/models/entity.js'
import { modelTables, outboxTable } from '../src/storage/table-names.js'
import { breakdown, CATEGORIES, profileClockUs, readProfile, type Category } from './cpu-profile.js'
import { FloorClient } from './floor.js'
import { percentile } from './stats.js'
import { peakRssBytes, processCpuMs, startBenchVerso, startFlags } from './verso-process.js'

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, concurrency: { type: 'string', default: '16' }, seconds: { type: 'string' }, warmup: { type: 'string' }, only: { type: 'string' } } })
const quick = values.quick
const concurrency = Number(values.concurrency)
const roundMs = Number(values.seconds ?? (quick ? 1 : 8)) * 1000
const warmupMs = Number(values.warmup ?? (quick ? 4 : 15)) * 1000
const prefix = 'bench_'
const SHARDS = 16

// ---------------------------------------------------------------- processes

process.stderr.write('building verso (npm run build)…\n')
await new Promise<void>((resolve, reject) => {
  spawn('npm', ['run', 'build', '--silent'], { stdio: 'inherit' }).once('exit', (code) => { code === 0 ? resolve() : reject(new Error(`build failed: ${String(code)}`)) })
})
const dynamo = await startDynamoDbLocal()
// verso runs as `npm start` (and the image) runs it: the node flags of package.json's start script, then any
// VERSO_NODE_FLAGS for experiments.
// A second verso under --cpu-prof serves one extra round per scenario: where verso's CPU goes, without
// profiling the verso whose CPU is compared. Its profile goes to VERSO_PROFILE_DIR (default bench/results/cpu-profile).
const profileDir = process.env.VERSO_PROFILE_DIR ?? 'bench/results/cpu-profile'
rmSync(profileDir, { recursive: true, force: true })
mkdirSync(profileDir, { recursive: true })
const startVerso = async (port: number, flags: string[], createTables: boolean): Promise<ChildProcess> => await startBenchVerso({
  script: 'dist/bin/server.js',
  nodeFlags: [...flags, ...startFlags(), ...(process.env.VERSO_NODE_FLAGS ?? '').split(' ').filter(Boolean)],
  port,
  endpoint: dynamo.endpoint,
  prefix,
  createTables,
  env: { OUTBOX_SHARDS: String(SHARDS), STATS_ENABLED: 'true' }
})
const port = await freeLoopbackPort()
const verso = await startVerso(port, [], true)
const profiledPort = await freeLoopbackPort()
const profiled = await startVerso(profiledPort, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`], false)
process.on('exit', () => { verso.kill(); profiled.kill() })
const stopAll = async (): Promise<void> => {
  for (const child of [verso, profiled]) {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
  await dynamo.stop()
}
const base = `http://127.0.0.1:${port}`

// ---------------------------------------------------------------- clients
// The load generator: an undici Pool with one keep-alive connection per concurrent caller (no pipelining), so
// the client side costs as little CPU as it can on a machine that verso and DynamoDB Local share.
const loadClient = new Pool(base, { connections: concurrency, pipelining: 1 })
const profiledClient = new Pool(`http://127.0.0.1:${profiledPort}`, { connections: concurrency, pipelining: 1 })
/** Which verso the HTTP calls go to: the measured one, or the profiled one for its extra round. */
let target = loadClient
interface Answer { status: number, body: string }
async function call (method: Dispatcher.HttpMethod, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const res = await target.request({ method, path, headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' }, ...(payload === undefined ? {} : { body: payload }) })
  return { status: res.statusCode, body: await res.body.text() }
}
const credentials = { accessKeyId: 'verso', secretAccessKey: 'verso' }
/** What a user writes: the SDK's default configuration (keep-alive agent, standard retries). */
const stock = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials })
/** verso's own client, as its storage layer builds it. */
const own: DynamoDBClient = createDynamoClient({ endpoint: dynamo.endpoint })
const floor = new FloorClient(dynamo.endpoint, 'us-east-1', credentials, concurrency)
const tables = modelTables(prefix, Person)

interface Stats { dynamodb_calls: Record<string, number>, heap_total_bytes: number, external_bytes: number, heap_spaces: Record<string, number> }
/** The largest of each of verso's memory figures seen at a round's start or end: where the peak RSS goes. */
const memoryPeaks: Record<string, number> = {}
const stats = async (): Promise<Record<string, number>> => {
  const body = JSON.parse((await call('GET', '/_stats')).body) as Stats
  const figures = { heap_total: body.heap_total_bytes, external: body.external_bytes, new_space: body.heap_spaces.new_space ?? 0, old_space: body.heap_spaces.old_space ?? 0, code_space: body.heap_spaces.code_space ?? 0 }
  for (const [name, bytes] of Object.entries(figures)) memoryPeaks[name] = Math.max(memoryPeaks[name] ?? 0, bytes)
  return body.dynamodb_calls
}

// ---------------------------------------------------------------- scenarios
let seq = 0
const person = (): Entity => ({ first_name: 'Ada', last_name: `Lovelace ${seq++}`, age: 36, metadata: { team: 'engines', n: seq } })
type Op = () => Promise<void>
interface Side { prepare?: (n: number) => Promise<void>, op: Op }
/** The sides of a comparison, in the order they take turns. */
const SIDES = ['verso', 'stock SDK', "verso's client", 'floor'] as const
type SideName = typeof SIDES[number]
interface Scenario { name: string, verso: Side, direct: (client: DynamoDBClient) => Side, floor?: Side }

/**
 * Entities to update, delete or read, one per operation so that no two operations conflict. Written with
 * BatchWriteItem as verso would have stored them (first versions), which is much quicker than creating them.
 */
const pool: Array<{ id: string, version: string, item: Entity }> = []
async function fill (n: number): Promise<void> {
  pool.length = 0
  const items = Array.from({ length: n }, () => ({ ...person(), entity_id: newEntityId(), ...nextVersionStamp(), previous_version: ZERO_ID, active: true, changed_by_id: ZERO_ID }))
  const batches = Array.from({ length: Math.ceil(n / 25) }, (_, i) => items.slice(i * 25, (i + 1) * 25))
  await runConcurrently(batches.length, async () => {
    let requests: WriteRequest[] = (batches.pop() ?? []).map((item) => ({ PutRequest: { Item: toItem(Person, item) } }))
    while (requests.length > 0) {
      const { UnprocessedItems } = await own.send(new BatchWriteItemCommand({ RequestItems: { [tables.main]: requests } }))
      requests = UnprocessedItems?.[tables.main] ?? []
    }
  })
  for (const item of items) pool.push({ id: String(item.entity_id), version: String(item.version), item })
}
const take = (): { id: string, version: string, item: Entity } => {
  const next = pool.pop()
  if (next === undefined) throw new Error('the pool ran dry: raise its size')
  return next
}
const expectStatus = (answer: Answer, status: number): void => { if (answer.status !== status) throw new Error(`${answer.status} ${answer.body.slice(0, 200)}`) }

/** The transaction verso commits for a versioned write, built the same way, sent directly. */
function writeTransaction (previous: Entity | undefined, fields: Entity, action: 'created' | 'updated' | 'deleted'): TransactWriteItem[] {
  const id = previous === undefined ? newEntityId() : String(previous.entity_id)
  const next: Entity = {
    ...fields, entity_id: id, ...nextVersionStamp(previous?.changed_on as string | undefined), previous_version: previous?.version ?? ZERO_ID, active: action !== 'deleted', changed_by_id: ZERO_ID
  }
  const event = outboxItem(buildEvent('person', action, next, String(next.changed_on), '/verso'), SHARDS)
  return [
    ...(previous === undefined ? [] : [{ Put: { TableName: tables.audit, Item: toItem(Person, previous), ConditionExpression: 'attribute_not_exists(version)' } }]),
    {
      Put: previous === undefined
        ? { TableName: tables.main, Item: toItem(Person, next), ConditionExpression: 'attribute_not_exists(entity_id)' }
        : { TableName: tables.main, Item: toItem(Person, next), ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': { S: String(previous.version) } } }
    },
    { Put: { TableName: outboxTable(prefix), Item: event } }
  ]
}
async function directUpdate (client: DynamoDBClient, action: 'updated' | 'deleted', fields?: Entity): Promise<void> {
  const { id } = take()
  const { Item } = await client.send(new GetItemCommand({ TableName: tables.main, Key: { entity_id: { S: id } }, ConsistentRead: true }))
  if (Item === undefined) throw new Error('missing')
  const current = unmarshall(Item)
  await client.send(new TransactWriteItemsCommand({ TransactItems: writeTransaction(current, fields ?? { first_name: current.first_name, last_name: current.last_name }, action) }))
}

const scenarios: Scenario[] = [
  {
    name: 'create',
    verso: { op: async () => { expectStatus(await call('POST', '/person', person()), 201) } },
    direct: (client) => ({ op: async () => { await client.send(new TransactWriteItemsCommand({ TransactItems: writeTransaction(undefined, person(), 'created') })) } })
  },
  {
    name: 'get by id',
    verso: { prepare: async () => { await fill(50) }, op: async () => { expectStatus(await call('GET', `/person/${pool[seq++ % pool.length]!.id}`), 200) } },
    // verso reads consistently (a read after a write sees it), so the direct calls do too.
    direct: (client) => ({ prepare: async () => { await fill(50) }, op: async () => { await client.send(new GetItemCommand({ TableName: tables.main, Key: { entity_id: { S: pool[seq++ % pool.length]!.id } }, ConsistentRead: true })) } }),
    floor: { prepare: async () => { await fill(50) }, op: async () => { if (await floor.getItem(tables.main, pool[seq++ % pool.length]!.id) === undefined) throw new Error('missing') } }
  },
  {
    name: 'update (PUT, If-Match)',
    verso: { prepare: fill, op: async () => { const e = take(); expectStatus(await call('PUT', `/person/${e.id}`, { first_name: 'Ada', last_name: 'Byron' }, { 'if-match': `"${e.version}"` }), 200) } },
    direct: (client) => ({ prepare: fill, op: async () => { await directUpdate(client, 'updated', { first_name: 'Ada', last_name: 'Byron' }) } })
  },
  {
    name: 'patch',
    verso: { prepare: fill, op: async () => { const e = take(); expectStatus(await call('PATCH', `/person/${e.id}`, { age: 37 }, { 'if-match': `"${e.version}"` }), 200) } },
    direct: (client) => ({ prepare: fill, op: async () => { await directUpdate(client, 'updated') } })
  },
  {
    name: 'soft delete',
    verso: { prepare: fill, op: async () => { const e = take(); expectStatus(await call('DELETE', `/person/${e.id}`, undefined, { 'if-match': `"${e.version}"` }), 200) } },
    direct: (client) => ({ prepare: fill, op: async () => { await directUpdate(client, 'deleted') } })
  },
  {
    name: 'list one page by index',
    verso: { op: async () => { expectStatus(await call('GET', '/person?last_name=Lovelace%201&limit=20'), 200) } },
    direct: (client) => ({
      op: async () => {
        await client.send(new QueryCommand({ TableName: tables.main, IndexName: 'last_name', KeyConditionExpression: '#l = :l', FilterExpression: 'attribute_not_exists(active) OR active <> :f', ExpressionAttributeNames: { '#l': 'last_name' }, ExpressionAttributeValues: { ':l': { S: 'Lovelace 1' }, ':f': { BOOL: false } }, Limit: 20 }))
      }
    })
  }
]

// ---------------------------------------------------------------- runner
async function runConcurrently (count: number, op: Op): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => { while (next++ < count) await op() }))
}

/**
 * CPU time (user + system, ms) used so far by verso and by this load process. On a 2-core machine shared with
 * DynamoDB Local's JVM, throughput follows the CPU every operation costs all processes together, so the CPU per
 * operation says where a gap in the ratio comes from even when the wall-clock figures are noisy.
 */
function cpuMs (pid = verso.pid): { verso: number, load: number } {
  const usage = process.cpuUsage()
  return { verso: processCpuMs(pid), load: (usage.user + usage.system) / 1000 }
}

interface Round { ops: number, seconds: number, latencies: number[], errors: number, cpu: { verso: number, load: number }, calls?: Record<string, number> }
/**
 * Runs `op` at the fixed concurrency for `ms` (a round). Ops needing fresh entities get a pool first, enough
 * for the fastest rate seen here with room to spare. With `countVersoCalls`, the DynamoDB calls verso made
 * during the timed part are read from /_stats.
 */
async function round (side: Side, countVersoCalls = false, pid = verso.pid, ms = roundMs): Promise<Round> {
  if (side.prepare !== undefined) await side.prepare(Math.ceil(ms / 1000 * 1000) + 200)
  const before = countVersoCalls ? await stats() : undefined
  const latencies: number[] = []
  let errors = 0
  const cpuBefore = cpuMs(pid)
  const started = performance.now()
  const deadline = started + ms
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now()
      try {
        await side.op()
        latencies.push(performance.now() - t0)
      } catch (err) {
        errors++
        if (errors === 1) process.stderr.write(`  error: ${err instanceof Error ? err.message : String(err)}\n`)
        if (String(err).includes('pool ran dry')) break
      }
    }
  }))
  const seconds = (performance.now() - started) / 1000
  const cpuAfter = cpuMs(pid)
  const cpu = { verso: cpuAfter.verso - cpuBefore.verso, load: cpuAfter.load - cpuBefore.load }
  const after = before === undefined ? undefined : await stats()
  const calls = after === undefined ? undefined : Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before?.[k] ?? 0)]).filter(([, v]) => Number(v) > 0))
  return { ops: latencies.length, seconds, latencies, errors, cpu, ...(calls === undefined ? {} : { calls }) }
}

const summarize = (rounds: Round[]): { opsPerSec: number, p50: number, p99: number, errors: number, versoCpuUsPerOp: number, loadCpuUsPerOp: number } => {
  const latencies = rounds.flatMap((r) => r.latencies)
  const ops = Math.max(1, rounds.reduce((n, r) => n + r.ops, 0))
  return {
    versoCpuUsPerOp: rounds.reduce((n, r) => n + r.cpu.verso, 0) * 1000 / ops,
    loadCpuUsPerOp: rounds.reduce((n, r) => n + r.cpu.load, 0) * 1000 / ops,
    opsPerSec: rounds.reduce((n, r) => n + r.ops, 0) / rounds.reduce((n, r) => n + r.seconds, 0),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors: rounds.reduce((n, r) => n + r.errors, 0)
  }
}

type Summary = ReturnType<typeof summarize>
interface Result {
  scenario: string
  sides: Partial<Record<SideName, Summary>>
  /** verso ÷ stock SDK: ops/s, and CPU µs per operation of verso's process against the stock caller's. */
  ratio: { throughput: number, cpu: number }
  callsPerOp: Record<string, number>
  /** µs of verso's CPU per request by category: the profiled round's shares of the timed verso CPU per op. */
  breakdown: Record<Category, number>
}

// --only "update,get" runs the scenarios whose names contain one of the words.
const selected = values.only === undefined ? scenarios : scenarios.filter((s) => values.only!.split(',').some((w) => s.name.includes(w.trim())))

// Warm-up of every side, both versos included, in each selected scenario: JIT, connections, DynamoDB Local's
// first-touch costs. A process's CPU per operation keeps falling for its first 10,000 or so operations while
// V8 optimises the code they run, verso's (fastify, the SDK and its own) for longer than a direct caller's, so
// short warm-ups measured verso half-cold (docs/performance.md).
for (const scenario of selected) {
  process.stderr.write(`warming up: ${scenario.name}…\n`)
  await round(scenario.verso, false, verso.pid, warmupMs)
  target = profiledClient
  await round(scenario.verso, false, profiled.pid, warmupMs)
  target = loadClient
  await round(scenario.direct(stock), false, verso.pid, warmupMs)
  await round(scenario.direct(own), false, verso.pid, warmupMs)
  if (scenario.floor !== undefined) await round(scenario.floor, false, verso.pid, warmupMs)
}

const results: Result[] = []
/** The profiled verso's round of each scenario: the profile clock window and the requests served in it. */
const windows: Array<{ from: number, to: number, ops: number }> = []
for (const scenario of selected) {
  process.stderr.write(`${scenario.name}…\n`)
  const sides: Array<[SideName, Side]> = [['verso', scenario.verso], ['stock SDK', scenario.direct(stock)], ["verso's client", scenario.direct(own)]]
  if (scenario.floor !== undefined) sides.push(['floor', scenario.floor])
  const rounds = new Map<SideName, Round[]>()
  for (let i = 0; i < 2; i++) {
    for (const [name, side] of sides) rounds.set(name, [...(rounds.get(name) ?? []), await round(side, name === 'verso')])
  }
  // One more round on the profiled verso, for the breakdown.
  target = profiledClient
  const from = profileClockUs()
  const profiledRound = await round(scenario.verso, false, profiled.pid)
  windows.push({ from, to: profileClockUs(), ops: profiledRound.ops })
  target = loadClient
  // DynamoDB calls verso made per operation, over its timed rounds (requests still in flight at a round's end
  // make this a hair above the exact figure).
  const versoRounds = rounds.get('verso') ?? []
  const ops = versoRounds.reduce((n, r) => n + r.ops, 0)
  const callsPerOp: Record<string, number> = {}
  for (const r of versoRounds) {
    for (const [command, count] of Object.entries(r.calls ?? {})) callsPerOp[command.replace(/Command$/, '')] = (callsPerOp[command.replace(/Command$/, '')] ?? 0) + count
  }
  for (const command of Object.keys(callsPerOp)) callsPerOp[command] = Math.round((callsPerOp[command]! / ops) * 100) / 100
  const summaries = Object.fromEntries([...rounds].map(([name, r]) => [name, summarize(r)])) as Partial<Record<SideName, Summary>>
  const versoSummary = summaries.verso!
  const stockSummary = summaries['stock SDK']!
  results.push({
    scenario: scenario.name,
    sides: summaries,
    ratio: { throughput: versoSummary.opsPerSec / stockSummary.opsPerSec, cpu: versoSummary.versoCpuUsPerOp / stockSummary.loadCpuUsPerOp },
    callsPerOp,
    breakdown: Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>
  })
}
// Peak RSS of verso, read from the kernel at the end.
const rss = peakRssBytes(verso.pid)
const itemBytes = Buffer.byteLength(JSON.stringify(toItem(Person, { ...person(), entity_id: newEntityId(), ...nextVersionStamp(), previous_version: ZERO_ID, active: true, changed_by_id: ZERO_ID })))
await stopAll()
stock.destroy()
own.destroy()
await Promise.all([floor.close(), loadClient.close(), profiledClient.close()])

// The profiled verso wrote its profile on exit. Each scenario's categories, as shares of the samples in its
// round (idle left out), times the timed verso's CPU per operation: sampling counts wall time, which on a busy
// machine includes time the process waited for a core, so only the shares are taken from it.
const profileFile = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'))
if (profileFile !== undefined) {
  const profile = readProfile(join(profileDir, profileFile))
  for (const [i, result] of results.entries()) {
    const window = windows[i]!
    const b = breakdown(profile, window.from, window.to)
    for (const c of CATEGORIES) result.breakdown[c] = c === 'idle' || b.busyMs === 0 ? 0 : b.byCategory[c] / b.busyMs * (result.sides.verso?.versoCpuUsPerOp ?? 0)
  }
}

// ---------------------------------------------------------------- report
const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toFixed(digits) : '-'
const table = (header: string[], lines: string[][]): string[] => {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const row = (cells: string[]): string => cells.map((c, i) => (i <= 1 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [row(header), ...lines.map(row)]
}
const sideLines = results.flatMap((r) => SIDES.filter((name) => r.sides[name] !== undefined).map((name, i) => {
  const s = r.sides[name]!
  const cpu = name === 'verso' ? `${fmt(s.versoCpuUsPerOp)} + ${fmt(s.loadCpuUsPerOp)}` : fmt(s.loadCpuUsPerOp)
  return [i === 0 ? r.scenario : '', name, fmt(s.opsPerSec), fmt(s.p50, 1), fmt(s.p99, 1), cpu, s.errors > 0 ? `${s.errors} errors` : '']
}))
const ratioLines = results.map((r) => [r.scenario, '', fmt(r.ratio.throughput, 2), fmt(r.ratio.cpu, 2), Object.entries(r.callsPerOp).map(([c, n]) => `${c} ${n}`).join(', ')])
const breakdownLines = results.map((r) => [r.scenario, '', fmt(r.sides.verso?.versoCpuUsPerOp ?? Number.NaN), ...CATEGORIES.filter((c) => c !== 'idle').map((c) => fmt(r.breakdown[c])), ''])
const goal = (name: string): Result | undefined => results.find((r) => r.scenario.startsWith(name))
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED')
const goalLines = [['get by id', 'get'], ['update (PUT, If-Match)', 'update']].flatMap(([scenario, label]) => {
  const r = goal(scenario!)
  return r === undefined
    ? []
    : [`  ${label}: verso CPU / stock caller CPU ${fmt(r.ratio.cpu, 2)} (goal <= 1.0, ${verdict(r.ratio.cpu <= 1)}); throughput verso / stock ${fmt(r.ratio.throughput, 2)} (goal >= 0.85, ${verdict(r.ratio.throughput >= 0.85)})`]
})
const date = new Date().toISOString()
process.stdout.write([
  '',
  `verso benchmark ${quick ? '(quick) ' : ''}— ${date} — concurrency ${concurrency}, ${warmupMs / 1000} s of warm-up per side, then ${roundMs / 1000} s rounds, the sides alternating, twice each`,
  ...table(['scenario', 'side', 'ops/s', 'p50 ms', 'p99 ms', 'CPU µs/op', ''], sideLines),
  'CPU µs/op: of the process doing the work per operation; for verso, verso\'s process + the load process (its HTTP client).',
  '',
  ...table(['scenario', '', 'ops/s verso÷stock', 'CPU verso÷stock', 'DynamoDB calls per op (verso)'], ratioLines),
  'CPU verso÷stock: CPU per operation of verso\'s process against that of the process calling DynamoDB with the stock SDK.',
  '',
  ...table(['verso CPU per request', '', 'µs', ...CATEGORIES.filter((c) => c !== 'idle'), ''], breakdownLines),
  'By category of the functions sampled in a --cpu-prof of a second verso (bench/cpu-profile.ts); Node\'s own functions count for their caller.',
  '',
  'Goals (issue 15, concurrency 16):',
  ...goalLines,
  `  peak RSS of verso ${fmt(rss / 1024 / 1024, 1)} MB (goal < 150 MB, ${verdict(rss < 150 * 1024 * 1024)}); largest seen at round edges: ${Object.entries(memoryPeaks).map(([k, v]) => `${k} ${fmt(v / 1024 / 1024, 1)}`).join(', ')} MB`,
  '  round trips: create 1, get 1, update 2 (see the DynamoDB calls per op above)',
  `Capacity: DynamoDB Local does not charge capacity units. A Person item is about ${itemBytes} bytes as marshalled (< 1 KB), so on AWS`,
  '  a consistent GetItem costs 1 RCU and each transactional Put 2 WCU: create 4 WCU, update/patch/delete 1 RCU + 6 WCU.',
  ''
].join('\n'))
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/api.json', JSON.stringify({ date, quick, concurrency, roundMs, warmupMs, peakRssBytes: rss, memoryPeaks, results }, null, 2))
writeFileSync('bench/results/api.svg', chart(results))
process.stdout.write('wrote bench/results/api.json and bench/results/api.svg\n')

function chart (rows: Result[]): string {
  const barHeight = 28
  const left = 200
  const width = 640
  const scale = (width - left - 60) / Math.max(1, ...rows.map((r) => r.ratio.throughput))
  const bars = rows.map((r, i) => {
    const y = 40 + i * (barHeight + 10)
    const w = Math.max(1, r.ratio.throughput * scale)
    return `<text x="${left - 10}" y="${y + 19}" text-anchor="end">${r.scenario}</text>` +
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${r.ratio.throughput >= 0.85 ? '#2e7d32' : '#c62828'}"/>` +
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 19}">${r.ratio.throughput.toFixed(2)}</text>`
  }).join('\n')
  const goal = left + 0.85 * scale
  const height = 60 + rows.length * (barHeight + 10)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
<text x="10" y="20" font-weight="bold">verso ops/s ÷ stock SDK ops/s (concurrency ${concurrency})</text>
${bars}
<line x1="${goal.toFixed(1)}" y1="30" x2="${goal.toFixed(1)}" y2="${height - 10}" stroke="#555" stroke-dasharray="4"/>
<text x="${(goal + 4).toFixed(1)}" y="${height - 12}" fill="#555">goal 0.85</text>
</svg>
`
}
