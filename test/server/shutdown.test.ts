import t from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { ScanCommand } from '@aws-sdk/client-dynamodb'
import { createDynamoClient } from '../../src/storage/client.js'
import { endpoint } from '../support/helper.js'
import { freeLoopbackPort } from '../../src/embedded/dynamodb-local.js'

/**
 * What became of one request: its status; `refused` when the connection was never accepted (the write cannot
 * have happened, the client may simply retry); `cut off` when it was accepted and then closed or reset without an
 * answer, which a graceful stop must never do to a request it accepted.
 */
async function outcome (base: string, body: unknown): Promise<number | 'refused' | 'cut off'> {
  try {
    const res = await fetch(`${base}/person`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(body) })
    await res.arrayBuffer()
    return res.status
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    return cause?.code === 'ECONNREFUSED' ? 'refused' : 'cut off'
  }
}

t.test('the outcome tells a refused connection from an accepted request cut off', async (t) => {
  const listen = async (server: Server): Promise<string> => await new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)
  }))
  // A service that accepts the request and drops it before answering, as a stop that loses an accepted write would.
  const dropping = createServer((socket) => { socket.once('data', () => { socket.resetAndDestroy() }) })
  const closing = createServer((socket) => { socket.once('data', () => { socket.end() }) })
  t.teardown(() => { dropping.close(); closing.close() })
  t.equal(await outcome(await listen(dropping), {}), 'cut off', 'reset after the request was read')
  t.equal(await outcome(await listen(closing), {}), 'cut off', 'closed after the request was read')
  t.equal(await outcome(`http://127.0.0.1:${await freeLoopbackPort()}`, {}), 'refused', 'nothing listening')
})

t.test('SIGTERM drains in-flight requests: every accepted write completes, nothing is half-written', async (t) => {
  const port = await freeLoopbackPort()
  const prefix = `sd${randomBytes(3).toString('hex')}_`
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/server.ts'], {
    env: { ...process.env, PORT: String(port), DYNAMODB_ENDPOINT: endpoint(), AUTH_MODE: 'none', RELAY_ENABLED: 'false', CREATE_TABLES: 'true', TABLE_PREFIX: prefix, LOG_LEVEL: 'warn', ADMISSION_TARGET_MS: '0', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) break
    await sleep(100)
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const writes = Array.from({ length: 40 }, async (_, i) => await outcome(base, { first_name: 'P', last_name: String(i) }))
  await sleep(30)
  child.kill('SIGTERM')
  const statuses = await Promise.all(writes)
  t.equal(await exited, 0, 'exit code 0')
  t.same(statuses.filter((s) => s !== 201 && s !== 'refused'), [], 'every request is answered 201 or was never accepted: none cut off, no error status')
  const created = statuses.filter((s) => s === 201).length
  t.ok(created > 0, `${created} writes were accepted before the stop`)

  const client = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { client.destroy() })
  const count = async (table: string): Promise<number> => (await client.send(new ScanCommand({ TableName: table, Select: 'COUNT', ConsistentRead: true }))).Count ?? 0
  t.equal(await count(`${prefix}person`), created, 'every 201 is stored')
  t.equal(await count(`${prefix}verso_outbox`), created, 'and has its event')
})
