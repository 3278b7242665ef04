/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where a process's CPU went: self time per function,
 * summed by category from the function's script URL. Used by bench/api.ts (the CPU breakdown per request)
 * and bench/profile.ts (verso alone under load).
 */
import { readFileSync } from 'node:fs'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame }
export interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

export const CATEGORIES = ['HTTP/fastify', 'HTTP/node', 'verso', 'SDK', 'GC', 'idle', 'other'] as const
export type Category = typeof CATEGORIES[number]

/** Which part of the process a function belongs to, from its script URL (and the V8 pseudo-frames). */
export function categoryOf (frame: CallFrame): Category {
  const { url, functionName } = frame
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC'
    if (functionName === '(idle)' || functionName === '(program)') return 'idle'
    return 'other'
  }
  if (/node_modules\/(fastify|avvio|find-my-way|light-my-request|@fastify|fast-json-stringify|fast-querystring|toad-cache|process-warning|abstract-logging|pino|sonic-boom|secure-json-parse|ajv)\//.test(url)) return 'HTTP/fastify'
  if (/node_modules\/(@aws-sdk|@smithy|@aws-crypto|bowser|fast-xml-parser|tslib|undici)\//.test(url)) return 'SDK'
  if (/\/(src|dist)\//.test(url) && !url.includes('node_modules')) return 'verso'
  if (/^node:internal\/(http|_http|streams|stream|net|dns|tls|url|querystring|timers|async_hooks|process\/task_queues)|^node:(http|_http|net|stream|events|timers)/.test(url)) return 'HTTP/node'
  return 'other'
}

export interface Breakdown {
  /** CPU time sampled, in ms, idle excluded. */
  busyMs: number
  byCategory: Record<Category, number>
  /** Heaviest functions by self time: [category, "name url:line", ms]. */
  top: Array<[Category, string, number]>
}

/**
 * Self time per category (ms) of the samples taken between `fromUs` and `toUs` (the profile's clock, which is
 * CLOCK_MONOTONIC as process.hrtime is in any process on Linux); the whole profile when they are omitted.
 */
export function breakdown (profile: CpuProfile, fromUs = -Infinity, toUs = Infinity, topN = 25): Breakdown {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const self = new Map<number, number>()
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    t += delta
    if (t < fromUs || t > toUs) continue
    // A sample's interval is the one before the next sample; the delta before it is a fair estimate.
    const id = profile.samples[i]!
    self.set(id, (self.get(id) ?? 0) + delta)
  }
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>
  const byFunction = new Map<string, [Category, number]>()
  for (const [id, us] of self) {
    const frame = frames.get(id)
    if (frame === undefined) continue
    const category = categoryOf(frame)
    byCategory[category] += us / 1000
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|dist)\//, '$1/')}:${frame.lineNumber + 1}`
    const entry = byFunction.get(key) ?? [category, 0]
    entry[1] += us / 1000
    byFunction.set(key, entry)
  }
  const top = [...byFunction].sort((a, b) => b[1][1] - a[1][1]).slice(0, topN).map(([k, [c, ms]]) => [c, k, ms] as [Category, string, number])
  const busyMs = CATEGORIES.filter((c) => c !== 'idle').reduce((n, c) => n + byCategory[c], 0)
  return { busyMs, byCategory, top }
}

export const readProfile = (path: string): CpuProfile => JSON.parse(readFileSync(path, 'utf8')) as CpuProfile

/** The profile clock now (µs, CLOCK_MONOTONIC), for the window given to breakdown. */
export const profileClockUs = (): number => Number(process.hrtime.bigint() / 1000n)
