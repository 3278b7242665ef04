import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { freeLoopbackPort, startDynamoDbLocal } from '../../src/embedded/dynamodb-local.js'
import { VERSO_ARGS, versoEnv } from '../harness.js'

export interface VersoProcess {
  origin: string
  pid: number
  /** Resident set size now, in bytes (VmRSS of /proc/<pid>/status). */
  rss: () => number
  /** Log lines at level error or above (pino level ≥ 50): what the service says went wrong, first ones only. */
  errorLogs: string[]
  exited: () => boolean
  stop: () => Promise<void>
}

const root = fileURLToPath(new URL('../../', import.meta.url))

/**
 * DynamoDB Local and verso of this scenario's own, verso as a separate process so its memory can be read from
 * /proc. verso runs from source through tsx: the scenario then checks the code as it is now, without a build
 * that other work in the same tree might be running at the same moment.
 */
export async function startVerso (extraEnv: Record<string, string> = {}): Promise<VersoProcess> {
  // Both start at once (each takes seconds on a busy machine); should verso reach DynamoDB Local before it
  // listens, verso exits and is started again once DynamoDB Local is up.
  const dynamoPort = await freeLoopbackPort()
  let dynamoUp = false
  const starting = startDynamoDbLocal({ port: dynamoPort }).then((dynamo) => { dynamoUp = true; return dynamo })
  starting.catch(() => {}) // awaited below; this only keeps a failure from counting as unhandled meanwhile
  const port = await freeLoopbackPort()
  const origin = `http://127.0.0.1:${port}`
  const errorLogs: string[] = []
  let stderr = ''
  const spawnVerso = (): { child: ChildProcess, gone: Promise<void> } => {
    const child = spawn(process.execPath, VERSO_ARGS, {
      cwd: root,
      env: { ...versoEnv(`http://127.0.0.1:${dynamoPort}`, 'hostile_', port), RELAY_ENABLED: 'false', ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let pending = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        if (errorLogs.length < 20 && /"level":(?:[5-9]\d)/.test(line)) errorLogs.push(line.slice(0, 2000))
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000) })
    return { child, gone: new Promise<void>((resolve) => child.once('exit', () => { resolve() })) }
  }

  let verso = spawnVerso()
  const stop = async (): Promise<void> => {
    if (verso.child.exitCode === null && verso.child.signalCode === null) {
      verso.child.kill('SIGTERM')
      await Promise.race([verso.gone, sleep(10_000).then(() => { verso.child.kill('SIGKILL') })])
    }
    await (await starting.catch(() => undefined))?.stop()
  }
  const deadline = Date.now() + 120_000
  try {
    while (!(await fetch(`${origin}/health/ready`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error(`verso did not become ready: ${stderr.trim().slice(-500)}`)
      if (verso.child.exitCode !== null) {
        if (dynamoUp) throw new Error(`verso exited: ${stderr.trim().slice(-500)}`)
        await starting
        stderr = ''
        verso = spawnVerso()
      }
      await sleep(100)
    }
  } catch (err) {
    await stop()
    throw err
  }
  const pid = verso.child.pid ?? 0
  return {
    origin,
    pid,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    errorLogs,
    exited: () => verso.child.exitCode !== null || verso.child.signalCode !== null,
    stop
  }
}
