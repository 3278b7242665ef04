/**
 * What the chaos scenarios run against: DynamoDB Local (in memory, or persistent so it can be killed and
 * restarted), verso as a real process (`node --import tsx src/bin/server.ts`, so it runs the current source and a
 * SIGKILL hits the server itself, not a wrapper), RabbitMQ behind a TCP proxy that can be cut, an HTTP client
 * that never waits past a deadline, and read-modify-write writers that record the outcome of every write.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request, type Dispatcher } from 'undici'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { freeLoopbackPort, startDynamoDbLocal, type EmbeddedDynamo } from '../src/embedded/dynamodb-local.js'
import { createDynamoClient } from '../src/storage/client.js'
import { scanAll } from '../src/storage/scan.js'
import { outboxTable } from '../src/storage/table-names.js'
import { consume, rabbitProxy, rabbitSkip, type Consumer, type Proxy } from './broker.js'
import type { ScenarioContext } from './scenario.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
/** verso from source, with the V8 flags `npm start` gives it (the memory behaviour under test is production's). */
export const VERSO_ARGS = [
  ...((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '').split(' ').filter((arg) => arg.startsWith('--')),
  '--import', 'tsx', 'src/bin/server.ts'
]

// ---------------------------------------------------------------- processes

/** Every verso process started, so that a deadline or an exit of the runner kills what is left. */
const children = new Set<ChildProcess>()
/** Kills every verso process still running (DynamoDB Local dies with this process through its own watchdog). */
export function killEverything (): void {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
}
process.once('exit', killEverything)

export interface Dynamo {
  endpoint: string
  /**
   * Takes the emulator away under load (persistent mode only): SIGTERM, SIGKILL after 5 s. Not SIGKILL at
   * once: DynamoDB Local then loses transactions it had already acknowledged (found by the DynamoDB outage
   * scenario: an acknowledged write gone whole — main item, audit copy and event — after the restart), which
   * real DynamoDB never does, and verso cannot make up for its emulator's durability.
   */
  halt: () => Promise<void>
  /** Starts it again on the same port with the same data (persistent mode only). */
  restart: () => Promise<void>
  stop: () => Promise<void>
}

/**
 * DynamoDB Local for a scenario. In memory, a loopback DYNAMODB_ENDPOINT from the environment (the test run's
 * emulator) is used when there is one; `persistent` always starts one of its own with a data folder (-dbPath),
 * so that it can be killed and started again with its tables intact.
 */
export async function startDynamo (persistent: boolean): Promise<Dynamo> {
  const given = process.env.DYNAMODB_ENDPOINT ?? ''
  if (!persistent && /^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(given)) {
    const refuse = async (): Promise<void> => { throw new Error('a shared DynamoDB Local is not stopped') }
    return { endpoint: given, halt: refuse, restart: refuse, stop: async () => {} }
  }
  const dataDir = persistent ? mkdtempSync(join(tmpdir(), 'verso-chaos-')) : undefined
  const port = await freeLoopbackPort()
  let current: EmbeddedDynamo = await startDynamoDbLocal({ port, ...(dataDir === undefined ? {} : { dataDir }) })
  return {
    endpoint: current.endpoint,
    halt: async () => { await current.stop() },
    restart: async () => { current = await startDynamoDbLocal({ port, ...(dataDir === undefined ? {} : { dataDir }) }) },
    stop: async () => {
      await current.stop()
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

export interface Verso {
  base: string
  /** SIGKILL: no drain, no lease release, in-flight requests lose their answer. */
  kill: () => Promise<void>
  /** Starts it again on the same port with the same settings and waits until it is ready. */
  restart: () => Promise<void>
  stop: () => Promise<void>
  /** The last lines verso wrote (for a failure's detail). */
  output: () => string
  /** The pid of the process running now. */
  pid: () => number
  /** Whether that process has ended. */
  exited: () => boolean
}

export interface VersoOptions {
  dynamo: string
  prefix: string
  /** RabbitMQ URL (the proxy's) and exchange; without it the relay is off and events stay in the outbox. */
  rabbit?: { url: string, exchange: string }
  env?: Record<string, string>
  /** Told every line verso writes to stdout (its pino log). */
  onLine?: (line: string) => void
}

/**
 * The environment every chaos run gives verso: production mode on its own DynamoDB Local and tables, on loopback,
 * without auth, logging at warn. Load shedding and admission are off: on a busy 2-core machine it would answer 503s that say
 * nothing about the faults under test.
 */
export function versoEnv (dynamo: string, prefix: string, port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    DYNAMODB_ENDPOINT: dynamo,
    AWS_REGION: 'us-east-1',
    AUTH_MODE: 'none',
    TABLE_PREFIX: prefix,
    CREATE_TABLES: 'true',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ADMISSION_TARGET_MS: '0',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
  }
}

const READY_WITHIN_MS = 120_000

export async function startVerso (options: VersoOptions): Promise<Verso> {
  const port = await freeLoopbackPort()
  const base = `http://127.0.0.1:${port}`
  const env: NodeJS.ProcessEnv = {
    ...versoEnv(options.dynamo, options.prefix, port),
    OUTBOX_SHARDS: '4',
    // A killed relay's shards are taken over once its leases expire: keep that short.
    RELAY_LEASE_MS: '2000',
    RELAY_IDLE_POLL_MS: '200',
    ...(options.rabbit === undefined
      ? { RELAY_ENABLED: 'false' }
      : { RELAY_ENABLED: 'true', OUTBOX_PUBLISHER: 'rabbitmq', RABBITMQ_URL: options.rabbit.url, RABBITMQ_EXCHANGE: options.rabbit.exchange }),
    ...options.env
  }
  let tail = ''
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    const proc = spawn(process.execPath, VERSO_ARGS, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    children.add(proc)
    proc.once('exit', () => children.delete(proc))
    const collect = (chunk: Buffer): void => { tail = (tail + chunk.toString()).slice(-4000) }
    let pending = ''
    proc.stdout?.on('data', (chunk: Buffer) => {
      collect(chunk)
      if (options.onLine === undefined) return
      const lines = (pending + chunk.toString()).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) options.onLine(line)
    })
    proc.stderr?.on('data', collect)
    // Creating the tables on a DynamoDB Local starved by a loaded machine has taken over 60 s.
    const deadline = Date.now() + READY_WITHIN_MS
    while (!(await call(base, 'GET', '/health/ready', undefined, 1000).then((a) => a.status === 200))) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`verso exited at start: ${tail.slice(-1000)}`)
      if (Date.now() > deadline) throw new Error(`verso was not ready within ${READY_WITHIN_MS / 1000} s: ${tail.slice(-1000)}`)
      await sleep(100)
    }
  }
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill(signal)
    await Promise.race([exited, sleep(15_000)])
    proc.kill('SIGKILL')
  }
  await start()
  const exited = (): boolean => child === undefined || child.exitCode !== null || child.signalCode !== null
  return { base, kill: async () => { await end('SIGKILL') }, restart: start, stop: async () => { await end('SIGTERM') }, output: () => tail, pid: () => child?.pid ?? 0, exited }
}

// ---------------------------------------------------------------- HTTP

const agent = new Agent({ connections: 256, keepAliveTimeout: 10_000, connect: { timeout: 2000 } })

export interface Answer {
  /** 0 when there was no answer (`error` says why). */
  status: number
  contentType: string
  text: string
  body: any
  ms: number
  error?: string
  /** True when the request never reached the server (connection refused): it cannot have done anything. */
  unsent?: boolean
}

/** One HTTP request that gives up after `timeoutMs` (then status 0): a chaos run never waits on a hung call. */
export async function call (base: string, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, timeoutMs = 15_000, headers: Record<string, string> = {}, dispatcher: Dispatcher = agent): Promise<Answer> {
  const started = performance.now()
  try {
    const res = await request(`${base}${path}`, {
      method,
      dispatcher,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs)
    })
    const text = await res.body.text()
    let parsed: unknown
    try { parsed = JSON.parse(text) } catch { parsed = undefined }
    return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text, body: parsed, ms: performance.now() - started }
  } catch (err) {
    const e = err as { code?: string, cause?: { code?: string }, message?: string }
    const code = e.code ?? e.cause?.code ?? ''
    return { status: 0, contentType: '', text: '', body: undefined, ms: performance.now() - started, error: `${code} ${e.message ?? String(err)}`.trim(), unsent: code === 'ECONNREFUSED' }
  }
}

// ---------------------------------------------------------------- writes

/** What became of one write. `unknown`: no answer, or a 5xx; it may or may not have committed. */
export type Outcome = 'ok' | 'rejected' | 'unknown'

export interface WriteRecord {
  entityId: string
  /** Unique per attempt, written as `last_name`, so a committed version tells which attempt wrote it. */
  marker: string
  /** The counter the write set (the one it read plus one; 0 on create). */
  count: number
  outcome: Outcome
  status: number
  /** The version the answer named (ok only). */
  version?: string
  /** When the answer came (ms since the epoch). */
  at: number
}

export class Ledger {
  readonly writes: WriteRecord[] = []
  readonly entityIds: string[] = []
  /** Answers other than 200/201, 409/412 and 503, by status: what the scenario did not expect. */
  readonly unexpected = new Map<string, number>()
  /** Requests that got no answer although they reached the service (reset, timeout): when each was in flight (ms since the epoch) and why. */
  readonly noAnswers: Array<{ from: number, to: number, error: string }> = []
  /** Acknowledged writes per entity. */
  readonly okByEntity = new Map<string, number>()
  /** Sees every answer a writer gets (reads included). */
  observer: ((answer: Answer) => void) | undefined
  private seq = 0
  constructor (private readonly tag: string) {}
  marker (): string { return `${this.tag}-${(this.seq++).toString(36)}` }
  /**
   * Counts an answer the scenario did not expect. Expected: 412 (stale If-Match), 409 write contention, and
   * under faults 503 and a refused connection.
   */
  note (answer: Answer): void {
    if (answer.status === 412 || answer.status === 503 || answer.unsent === true) return
    if (answer.status === 409 && answer.body?.code === 'VERSO_WRITE_CONTENTION') return
    if (answer.status === 0) {
      const to = Date.now()
      this.noAnswers.push({ from: to - answer.ms, to, error: `${answer.error ?? ''} after ${answer.ms.toFixed(0)} ms` })
    } else {
      const label = `${answer.status} ${String(answer.body?.code ?? '')}`.trim()
      this.unexpected.set(label, (this.unexpected.get(label) ?? 0) + 1)
    }
  }

  get noAnswer (): number { return this.noAnswers.length }

  acknowledged (): number { return this.writes.filter((w) => w.outcome === 'ok').length }
}

const outcomeOf = (answer: Answer): Outcome =>
  answer.status >= 200 && answer.status < 300 ? 'ok' : answer.unsent === true || (answer.status >= 400 && answer.status < 500) ? 'rejected' : 'unknown'

const fields = (marker: string, count: number): Record<string, unknown> => ({ first_name: 'chaos', last_name: marker, metadata: { count } })

/** Creates `n` people (retrying until each is created) and records the creates. */
export async function createEntities (base: string, ledger: Ledger, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (let tries = 0; ; tries++) {
      const marker = ledger.marker()
      const answer = await call(base, 'POST', '/person', fields(marker, 0))
      if (answer.status === 201) {
        ledger.entityIds.push(String(answer.body.entity_id))
        ledger.writes.push({ entityId: String(answer.body.entity_id), marker, count: 0, outcome: 'ok', status: 201, version: String(answer.body.version), at: Date.now() })
        break
      }
      // A create without an answer may still have committed: the invariants must know its marker.
      ledger.writes.push({ entityId: '', marker, count: 0, outcome: outcomeOf(answer), status: answer.status, at: Date.now() })
      if (tries === 20) throw new Error(`could not create an entity: ${answer.status} ${answer.error ?? answer.text.slice(0, 200)}`)
      await sleep(100)
    }
  }
}

export type StepResult = 'ok' | 'conflict' | 'failed'

/**
 * One read-modify-write: GET the entity, PUT it back with its counter plus one under `If-Match`. A 412 or 409
 * is a conflict (the caller retries); the write's outcome is recorded in the ledger.
 */
export async function readModifyWrite (base: string, ledger: Ledger, entityId: string, timeoutMs?: number, dispatcher?: Dispatcher): Promise<StepResult> {
  const read = await call(base, 'GET', `/person/${entityId}`, undefined, timeoutMs, {}, dispatcher)
  ledger.observer?.(read)
  if (read.status !== 200) {
    ledger.note(read)
    return 'failed'
  }
  const count = Number(read.body?.metadata?.count ?? NaN) + 1
  const marker = ledger.marker()
  const answer = await call(base, 'PUT', `/person/${entityId}`, fields(marker, count), timeoutMs, { 'if-match': `"${String(read.body.version)}"` }, dispatcher)
  ledger.observer?.(answer)
  const outcome = outcomeOf(answer)
  if (outcome === 'ok') ledger.okByEntity.set(entityId, (ledger.okByEntity.get(entityId) ?? 0) + 1)
  ledger.writes.push({ entityId, marker, count, outcome, status: answer.status, ...(outcome === 'ok' ? { version: String(answer.body?.version) } : {}), at: Date.now() })
  if (answer.status !== 200) ledger.note(answer)
  if (answer.status === 412 || answer.status === 409) return 'conflict'
  return outcome === 'ok' ? 'ok' : 'failed'
}

/**
 * Writers hammering entities until `stop()` says so: each writer loops read-modify-write on its entity,
 * retrying conflicts and failures (after a short pause when the service did not answer).
 *
 * The writers share a pool of one connection each, all opened before the first write, while verso is idle, as
 * a load balancer keeps a warm pool. Since libuv 1.45 (Node.js 20.3) a server accepts one new connection per turn
 * of its event loop (nodejs/node#57364), and a turn of a saturated verso takes a few hundred milliseconds: in the
 * full storm on 2 cores, the 60-odd connections a pool opened at the start (and the few it added later) waited
 * up to 20 s in the kernel's accept queue (`ss -ltn`), their first requests unanswered past the runner's timeout.
 */
export async function runWriters (base: string, ledger: Ledger, entityIds: readonly string[], perEntity: number, stop: (entityId: string) => boolean, timeoutMs?: number): Promise<void> {
  const writers = entityIds.length * perEntity
  const pool = new Agent({ connections: writers, connect: { timeout: 2000 } })
  // Dispatched in one go, each request finds every connection so far busy and opens its own.
  await Promise.all(Array.from({ length: writers }, async () => await call(base, 'GET', '/health/live', undefined, 15_000, {}, pool)))
  const writer = async (entityId: string): Promise<void> => {
    while (!stop(entityId)) {
      const result = await readModifyWrite(base, ledger, entityId, timeoutMs, pool)
      if (result === 'failed') await sleep(50)
    }
  }
  // Every writer has ended before the pool goes, also when one of them threw.
  const ended = await Promise.allSettled(entityIds.flatMap((id) => Array.from({ length: perEntity }, async () => await writer(id))))
  await pool.destroy()
  const failed = ended.find((result) => result.status === 'rejected')
  if (failed !== undefined) throw failed.reason
}

// ---------------------------------------------------------------- a whole setup

export interface World {
  verso: Verso
  dynamo: Dynamo
  client: DynamoDBClient
  prefix: string
  /** Undefined without a broker: then the relay is off and the outbox table holds the events. */
  consumer?: Consumer
  proxy?: Proxy
  close: () => Promise<void>
}

export interface WorldOptions {
  persistentDynamo?: boolean
  /** `required`: fail when RabbitMQ is absent; `optional`: without it, check the events in the outbox. */
  broker: 'required' | 'optional'
  env?: Record<string, string>
}

/** DynamoDB Local, RabbitMQ behind a proxy with a consumer on a fresh exchange, and verso: everything a scenario needs. */
export async function openWorld (ctx: ScenarioContext, name: string, options: WorldOptions): Promise<World> {
  const run = randomBytes(3).toString('hex')
  const prefix = `chaos_${name.replace(/\W/g, '_')}_${run}_`
  const cleanups: Array<() => Promise<void>> = []
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => { ctx.log(`cleanup failed: ${String(err)}`) })
  }
  try {
    const skip = await rabbitSkip()
    if (skip !== false && options.broker === 'required') throw new Error(skip)
    if (skip !== false) ctx.log(`${name}: ${skip}; the relay stays off and events are checked in the outbox table`)
    const dynamo = await startDynamo(options.persistentDynamo ?? false)
    cleanups.push(dynamo.stop)
    const client = createDynamoClient({ endpoint: dynamo.endpoint })
    cleanups.push(async () => { client.destroy() })
    let rabbit: { proxy: Proxy, consumer: Consumer, exchange: string } | undefined
    if (skip === false) {
      const exchange = `verso.chaos.${name}.${run}`
      const consumer = await consume(exchange)
      cleanups.push(consumer.close)
      const proxy = await rabbitProxy()
      cleanups.push(proxy.close)
      rabbit = { proxy, consumer, exchange }
    }
    const verso = await startVerso({ dynamo: dynamo.endpoint, prefix, ...(rabbit === undefined ? {} : { rabbit: { url: rabbit.proxy.url, exchange: rabbit.exchange } }), ...(options.env === undefined ? {} : { env: options.env }) })
    cleanups.push(verso.stop)
    ctx.log(`${name}: verso at ${verso.base}, DynamoDB at ${dynamo.endpoint}, tables ${prefix}*${rabbit === undefined ? '' : `, exchange ${rabbit.exchange}`}`)
    return { verso, dynamo, client, prefix, ...(rabbit === undefined ? {} : { consumer: rabbit.consumer, proxy: rabbit.proxy }), close }
  } catch (err) {
    await close()
    throw err
  }
}

/**
 * With a broker: waits until the relay has emptied the outbox and the consumer holds `expected` distinct events
 * (or `ms` passed; the invariants then say what is missing). Without one there is nothing to wait for.
 */
export async function drain (world: World, expected: number, ms: number): Promise<void> {
  const { consumer } = world
  if (consumer === undefined) return
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const pending = (await scanAll(world.client, outboxTable(world.prefix))).length
    if (pending === 0 && new Set(consumer.received.map((r) => r.id)).size >= expected) return
    await sleep(250)
  }
}

/** A pause in ms between `min` and `max`. */
export const between = (min: number, max: number): number => min + Math.random() * (max - min)
