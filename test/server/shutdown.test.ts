import t from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { ScanCommand } from '@aws-sdk/client-dynamodb'
import { createDynamoClient } from '../../src/storage/client.js'
import { endpoint } from '../support/helper.js'
import { freeLoopbackPort } from '../../src/embedded/dynamodb-local.js'

t.test('SIGTERM drains in-flight requests: every accepted write completes, nothing is half-written', async (t) => {
  const port = await freeLoopbackPort()
  const prefix = `sd${randomBytes(3).toString('hex')}_`
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, PORT: String(port), DYNAMODB_ENDPOINT: endpoint(), AUTH_MODE: 'none', RELAY_ENABLED: 'false', CREATE_TABLES: 'true', TABLE_PREFIX: prefix, LOG_LEVEL: 'warn', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) break
    await sleep(100)
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const writes = Array.from({ length: 40 }, async (_, i) => await fetch(`${base}/person`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ first_name: 'P', last_name: String(i) })
  }).then((r) => r.status, () => 'refused'))
  await sleep(30)
  child.kill('SIGTERM')
  const statuses = await Promise.all(writes)
  t.equal(await exited, 0, 'exit code 0')
  t.same(statuses.filter((s) => s !== 201 && s !== 'refused'), [], 'no request was cut off with an error status')
  const created = statuses.filter((s) => s === 201).length
  t.ok(created > 0, `${created} writes were accepted before the stop`)

  const client = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { client.destroy() })
  const count = async (table: string): Promise<number> => (await client.send(new ScanCommand({ TableName: table, Select: 'COUNT', ConsistentRead: true }))).Count ?? 0
  t.equal(await count(`${prefix}person`), created, 'every 201 is stored')
  t.equal(await count(`${prefix}verso_outbox`), created, 'and has its event')
})
