/**
 * `npx tsx bench/profile.ts [--dist dist,dist-before] [--ops get,update] [--seconds 4] [--rounds 3] [--warmup 3] [--profile dir]`:
 * verso alone under load, to find its own per-request work.
 *
 * Starts DynamoDB Local and one verso per build folder given (`node <npm start's flags> <dir>/bin/server.js`, as bench/api.ts runs it),
 * then drives GET and PUT-with-If-Match (or, with `--ops live`, GET /health/live: the HTTP path alone, no DynamoDB) at concurrency 16 through an undici Pool from this process, the builds
 * taking turns round by round. Prints the CPU µs per request of each verso process (from /proc/<pid>/stat),
 * the median over rounds, so that a change can be compared with the build before it on a noisy machine. With
 * --profile, each verso runs under --cpu-prof and the samples taken inside the timed rounds are broken down by
 * category (bench/cpu-profile.ts), with the heaviest functions.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb'
import { Pool } from 'undici'
import { freeLoopbackPort, startDynamoDbLocal } from '../src/embedded/dynamodb-local.js'
import { Person } from '../src/models/person.js'
import { newEntityId, nextVersionStamp, ZERO_ID } from '../src/models/entity.js'
import { createDynamoClient } from '../src/storage/client.js'
import { toItem } from '../src/storage/item-mapping.js'
import { modelTables } from '../src/storage/table-names.js'
import { breakdown, CATEGORIES, profileClockUs, readProfile } from './cpu-profile.js'
import { percentile } from './stats.js'
import { peakRssBytes, processCpuMs, startBenchVerso, startFlags } from './verso-process.js'

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    flags: { type: 'string', default: '' },
    ops: { type: 'string', default: 'get,update' },
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    profile: { type: 'string' }
  }
})
const builds = values.dist.split(',')
/** Extra node flags per build, comma-separated in the order of --dist, after npm start's (the last of a V8 flag wins: `--flags ',--max-semi-space-size=16'`). */
const extraFlags = values.flags.split(',')
const ops = values.ops.split(',')
const roundMs = Number(values.seconds) * 1000
const rounds = Number(values.rounds)
const concurrency = Number(values.concurrency)
const prefix = 'prof_'

const dynamo = await startDynamoDbLocal()
const sdk = createDynamoClient({ endpoint: dynamo.endpoint })
const tables = modelTables(prefix, Person)

interface Verso { dir: string, process: ChildProcess, pool: Pool, profileDir?: string, peakRssMb?: number }
const versos: Verso[] = []
// Whatever ends this process (an error included) ends the versos it started.
process.on('exit', () => { for (const verso of versos) verso.process.kill() })
for (const [i, dir] of builds.entries()) {
  const port = await freeLoopbackPort()
  const profileDir = values.profile === undefined ? undefined : join(values.profile, String(i))
  if (profileDir !== undefined) { rmSync(profileDir, { recursive: true, force: true }); mkdirSync(profileDir, { recursive: true }) }
  const child = await startBenchVerso({
    script: join(dir, 'bin', 'server.js'),
    nodeFlags: [...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]), ...startFlags(), ...(extraFlags[i] ?? '').split(' ').filter(Boolean)],
    port,
    endpoint: dynamo.endpoint,
    prefix,
    // The first verso makes the tables; the others find them.
    createTables: i === 0,
    // Load shedding stays registered (its hook runs on every request) but never sheds on this shared machine.
    env: { MAX_EVENT_LOOP_DELAY_MS: '60000' }
  })
  const base = `http://127.0.0.1:${port}`
  versos.push({ dir: extraFlags[i] === undefined || extraFlags[i] === '' ? dir : `${dir} ${extraFlags[i]}`, process: child, pool: new Pool(base, { connections: concurrency, pipelining: 1 }), ...(profileDir === undefined ? {} : { profileDir }) })
}

const cpuMs = processCpuMs

/** Fresh first versions to update, written with BatchWriteItem as verso stores them. */
async function fill (n: number): Promise<Array<{ id: string, version: string }>> {
  const items = Array.from({ length: n }, (_, i) => ({ first_name: 'Ada', last_name: `Lovelace ${i}`, age: 36, metadata: { team: 'engines', n: i }, entity_id: newEntityId(), ...nextVersionStamp(), previous_version: ZERO_ID, active: true, changed_by_id: ZERO_ID }))
  for (let i = 0; i < items.length; i += 25) {
    let requests = items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: toItem(Person, item) } }))
    while (requests.length > 0) {
      const { UnprocessedItems } = await sdk.send(new BatchWriteItemCommand({ RequestItems: { [tables.main]: requests } }))
      requests = (UnprocessedItems?.[tables.main] ?? []) as typeof requests
    }
  }
  return items.map((item) => ({ id: item.entity_id, version: String(item.version) }))
}

interface Sample { cpuUsPerOp: number, opsPerSec: number, p50: number }
const results = new Map<string, Sample[]>()
const windows = new Map<string, Array<[number, number, number]>>()

async function round (verso: Verso, op: string): Promise<void> {
  const entities = op === 'live' ? [] : await fill(op === 'get' ? 50 : Math.ceil(roundMs / 1000 * 900) + 100)
  let next = 0
  const request = async (): Promise<void> => {
    const res = op === 'live'
      ? await verso.pool.request({ method: 'GET', path: '/health/live' })
      : op === 'get'
        ? await verso.pool.request({ method: 'GET', path: `/person/${entities[next++ % entities.length]!.id}` })
        : await (async () => {
          const e = entities[next++]
          if (e === undefined) throw new Error('ran out of entities: raise the pool')
          return await verso.pool.request({ method: 'PUT', path: `/person/${e.id}`, headers: { 'content-type': 'application/json', 'if-match': `"${e.version}"` }, body: '{"first_name":"Ada","last_name":"Byron"}' })
        })()
    const body = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${body.slice(0, 200)}`)
  }
  const latencies: number[] = []
  const pid = verso.process.pid!
  const cpu0 = cpuMs(pid)
  const t0 = performance.now()
  const from = profileClockUs()
  const deadline = t0 + roundMs
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const s = performance.now()
      await request()
      latencies.push(performance.now() - s)
    }
  }))
  const to = profileClockUs()
  const seconds = (performance.now() - t0) / 1000
  const cpu = cpuMs(pid) - cpu0
  const key = `${verso.dir} ${op}`
  results.set(key, [...(results.get(key) ?? []), { cpuUsPerOp: cpu * 1000 / latencies.length, opsPerSec: latencies.length / seconds, p50: percentile(latencies, 0.5) }])
  windows.set(key, [...(windows.get(key) ?? []), [from, to, latencies.length]])
}

// Warm-up (JIT, connections), then the timed rounds, the builds taking turns. verso's CPU per request keeps
// falling for its first 10,000 or so requests (V8 optimising its code), hence several warm-up rounds.
for (let r = 0; r < Number(values.warmup); r++) for (const verso of versos) for (const op of ops) await round(verso, op)
results.clear()
windows.clear()
for (let r = 0; r < rounds; r++) {
  for (const op of ops) {
    for (const verso of (r % 2 === 0 ? versos : [...versos].reverse())) await round(verso, op)
  }
}

for (const verso of versos) {
  verso.peakRssMb = peakRssBytes(verso.process.pid) / 1024 / 1024
  verso.process.kill('SIGTERM')
  await new Promise((resolve) => verso.process.once('exit', resolve))
  await verso.pool.close()
}
sdk.destroy()
await dynamo.stop()

const median = (xs: number[]): number => percentile(xs, 0.5)
process.stdout.write(`\nverso alone, concurrency ${concurrency}, ${rounds} rounds of ${roundMs / 1000} s each, builds alternating; medians over rounds\n`)
for (const op of ops) {
  for (const verso of versos) {
    const samples = results.get(`${verso.dir} ${op}`) ?? []
    process.stdout.write(`${op.padEnd(7)} ${verso.dir.padEnd(20)} CPU µs/req ${median(samples.map((s) => s.cpuUsPerOp)).toFixed(0).padStart(5)}  (${samples.map((s) => s.cpuUsPerOp.toFixed(0)).join(' ')})  req/s ${median(samples.map((s) => s.opsPerSec)).toFixed(0)}  p50 ${median(samples.map((s) => s.p50)).toFixed(1)} ms\n`)
  }
}

for (const verso of versos) process.stdout.write(`peak RSS ${verso.dir}: ${verso.peakRssMb?.toFixed(1) ?? '?'} MB\n`)

if (values.profile !== undefined) {
  for (const verso of versos) {
    const file = readdirSync(verso.profileDir!).find((f) => f.endsWith('.cpuprofile'))
    if (file === undefined) continue
    const profile = readProfile(join(verso.profileDir!, file))
    // The timed windows, for reading the profile again later (e.g. to compare two builds function by function).
    writeFileSync(join(verso.profileDir!, 'windows.json'), JSON.stringify(Object.fromEntries(ops.map((op) => [op, windows.get(`${verso.dir} ${op}`) ?? []]))))
    for (const op of ops) {
      const parts = (windows.get(`${verso.dir} ${op}`) ?? []).map(([from, to, n]) => ({ b: breakdown(profile, from, to, 40), n }))
      const requests = parts.reduce((s, p) => s + p.n, 0)
      const perRequest = (ms: number): string => (ms * 1000 / requests).toFixed(0)
      process.stdout.write(`\n${verso.dir} ${op}: sampled µs per request by category (self time), ${requests} requests\n`)
      for (const c of CATEGORIES) process.stdout.write(`  ${c.padEnd(13)} ${perRequest(parts.reduce((s, p) => s + p.b.byCategory[c], 0)).padStart(5)}\n`)
      const merged = new Map<string, [string, number]>()
      for (const p of parts) for (const [c, name, ms] of p.b.top) merged.set(name, [c, (merged.get(name)?.[1] ?? 0) + ms])
      process.stdout.write('  heaviest functions (µs per request, self):\n')
      for (const [name, [c, ms]] of [...merged].sort((a, b) => b[1][1] - a[1][1]).slice(0, 40)) process.stdout.write(`    ${perRequest(ms).padStart(4)}  ${c.padEnd(12)} ${name}\n`)
    }
  }
}
