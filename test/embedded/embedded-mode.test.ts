import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freeLoopbackPort } from '../../src/embedded/dynamodb-local.js'

// The service with nothing configured: it starts its own DynamoDB Local, which must never outlive it.

interface Running { child: ChildProcess, base: string, javaPid: number, logs: () => string }

async function startService (env: Record<string, string>): Promise<Running> {
  const port = await freeLoopbackPort()
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_') && k !== 'DYNAMODB_ENDPOINT') clean[k] = v
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/server.ts'], {
    env: { ...clean, PORT: String(port), LOG_LEVEL: 'info', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { output += c.toString() })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const ready = await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)
    if (ready) break
    if (child.exitCode !== null) throw new Error(`service exited: ${output}`)
    await sleep(200)
  }
  const line = output.split('\n').find((l) => l.includes('embedded DynamoDB Local started'))
  const javaPid = Number(JSON.parse(line ?? '{}').dynamodbPid)
  if (!Number.isInteger(javaPid)) throw new Error(`no DynamoDB Local pid in the log: ${output}`)
  return { child, base, javaPid, logs: () => output }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function gone (pid: number, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (!alive(pid)) return true
    await sleep(100)
  }
  return false
}

t.test('SIGKILL of verso leaves no DynamoDB Local behind', async (t) => {
  const svc = await startService({})
  t.match(svc.logs(), /Swagger UI at http:\/\/127\.0\.0\.1:\d+\/docs/, 'the log says where the API and /docs are')
  t.ok(alive(svc.javaPid), 'DynamoDB Local runs')
  svc.child.kill('SIGKILL')
  t.ok(await gone(svc.javaPid), 'DynamoDB Local is gone after verso was killed')
})

t.test('SIGTERM stops both, and DATA_DIR keeps the data across restarts', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'verso-data-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  const first = await startService({ DATA_DIR: dataDir })
  const created = await fetch(`${first.base}/book`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Kept', author: 'Someone' }) })
  t.equal(created.status, 201)
  const id = String(((await created.json()) as { entity_id: string }).entity_id)
  const exited = new Promise<number | null>((resolve) => first.child.once('exit', resolve))
  first.child.kill('SIGTERM')
  t.equal(await exited, 0, 'verso exits 0 on SIGTERM')
  t.ok(await gone(first.javaPid), 'DynamoDB Local stopped with it')

  const second = await startService({ DATA_DIR: dataDir })
  t.teardown(() => { second.child.kill('SIGTERM') })
  const read = await fetch(`${second.base}/book/${id}`)
  t.equal(read.status, 200, 'the entity survived the restart')
  t.equal(((await read.json()) as { title: string }).title, 'Kept')
})
