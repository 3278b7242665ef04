import { readFileSync } from 'node:fs'
import { startDynamoDbLocal } from '../../src/embedded/dynamodb-local.js'
import { startVerso as startService, type Verso } from '../harness.js'

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

/**
 * DynamoDB Local and verso of this scenario's own, verso as a separate process (the harness's, so a deadline of
 * the runner kills it too) whose memory can be read from /proc and whose error logs are kept.
 */
export async function startVerso (extraEnv: Record<string, string> = {}): Promise<VersoProcess> {
  const dynamo = await startDynamoDbLocal()
  const errorLogs: string[] = []
  const keepErrors = (line: string): void => {
    if (errorLogs.length < 20 && /"level":(?:[5-9]\d)/.test(line)) errorLogs.push(line.slice(0, 2000))
  }
  let verso: Verso
  try {
    verso = await startService({ dynamo: dynamo.endpoint, prefix: 'hostile_', env: extraEnv, onLine: keepErrors })
  } catch (err) {
    await dynamo.stop()
    throw err
  }
  const pid = verso.pid()
  return {
    origin: verso.base,
    pid,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    errorLogs,
    exited: verso.exited,
    stop: async () => {
      await verso.stop()
      await dynamo.stop()
    }
  }
}
