import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

export interface BenchVerso {
  /** The built entry point (`dist/bin/server.js`). */
  script: string
  /** Node flags before the script (V8 flags, --cpu-prof). */
  nodeFlags: string[]
  port: number
  endpoint: string
  prefix: string
  /** Only the first of several versos on one prefix makes the tables. */
  createTables: boolean
  /** Settings on top of the benchmark's own. */
  env?: Record<string, string>
}

/**
 * A verso process as the benchmarks run it (bench/api.ts, bench/profile.ts): production mode on the given
 * DynamoDB, no auth, no relay (only the API is measured), warnings only; resolved once it is ready.
 */
export async function startBenchVerso (options: BenchVerso): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...options.nodeFlags, options.script], {
    env: {
      ...process.env,
      DYNAMODB_ENDPOINT: options.endpoint,
      AWS_REGION: 'us-east-1',
      AUTH_MODE: 'none',
      RELAY_ENABLED: 'false',
      CREATE_TABLES: String(options.createTables),
      TABLE_PREFIX: options.prefix,
      LOG_LEVEL: 'warn',
      PORT: String(options.port),
      NODE_ENV: 'production',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...options.env
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  for (let i = 0; !(await fetch(`http://127.0.0.1:${options.port}/health/ready`).then((r) => r.ok, () => false)); i++) {
    if (i === 600 || child.exitCode !== null) throw new Error(`${options.script} did not start`)
    await sleep(100)
  }
  return child
}

/** The node flags of package.json's start script: verso is measured as `npm start` (and the image) runs it. */
export function startFlags (): string[] {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts
  return (scripts.start ?? '').split(' ').filter((arg) => arg.startsWith('--'))
}

const TICK_MS = 10 // USER_HZ is 100 on Linux

/** A process's peak resident memory so far in bytes, as the kernel counts it (VmHWM). */
export function peakRssBytes (pid: number | undefined): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))?.[1] ?? 0) * 1024
}

/** CPU milliseconds a process has used so far (user + system, from /proc/<pid>/stat). */
export function processCpuMs (pid: number | undefined): number {
  const fields = readFileSync(`/proc/${String(pid)}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS
}
