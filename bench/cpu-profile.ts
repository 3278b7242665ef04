/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where a process's CPU went: self time per function,
 * summed by category from the function's script URL. Used by bench/api.ts (the CPU breakdown per request)
 * and bench/profile.ts (verso alone under load).
 */
import { readFileSync } from 'node:fs'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
export interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

export const CATEGORIES = ['HTTP/fastify', 'HTTP/node', 'verso', 'SDK', 'GC', 'other', 'idle'] as const
export type Category = typeof CATEGORIES[number]

const FASTIFY = /node_modules\/(fastify|avvio|find-my-way|light-my-request|@fastify|fast-json-stringify|fast-querystring|fast-decode-uri-component|toad-cache|helmet|pino|sonic-boom|secure-json-parse|ajv|ajv-formats)\//
const SDK = /node_modules\/(@aws-sdk|@smithy|@aws-crypto|fast-xml-parser|tslib)\/|^node:_http_(client|agent)$/
const NODE_HTTP = /^node:(internal\/(http|streams|stream_base_commons|net|url|timers|process\/task_queues|async_hooks|event_target|abort_controller)|_http_|net$|stream$|events$|timers$)/

/**
 * The part of the process a function belongs to, from its script URL alone: fastify and the plugins and
 * libraries it runs per request; verso's own code (src/ or dist/); the AWS SDK, with Node's HTTP client and
 * agent, which only the SDK uses in verso's process; Node's other HTTP, socket and stream internals.
 * undefined: Node's or V8's code, which belongs to whoever called it (see breakdown).
 */
function ownCategory (url: string): Category | undefined {
  if (FASTIFY.test(url)) return 'HTTP/fastify'
  if (SDK.test(url)) return 'SDK'
  if (/\/(src|dist[^/]*)\//.test(url) && !url.includes('node_modules')) return 'verso'
  return undefined
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
 * Node's and V8's own functions (a socket write, a hash, JSON.stringify) count for the nearest caller that
 * has a category: a write under the SDK's request is the SDK's, under fastify's reply fastify's. With no such
 * caller, Node's HTTP, socket and stream code (reading requests off sockets, timers) is HTTP/node.
 */
export function breakdown (profile: CpuProfile, fromUs = -Infinity, toUs = Infinity, topN = 25): Breakdown {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const categories = new Map<number, Category>()
  const categoryOf = (id: number): Category => {
    const known = categories.get(id)
    if (known !== undefined) return known
    const { url, functionName } = byId.get(id)!.callFrame
    let category = ownCategory(url)
    if (category === undefined) {
      const up = parent.get(id)
      const inherited = up === undefined ? 'other' : categoryOf(up)
      if (functionName === '(garbage collector)') category = 'GC'
      else if (functionName === '(idle)' || functionName === '(program)') category = 'idle'
      else if (inherited !== 'other' && inherited !== 'HTTP/node') category = inherited
      else category = NODE_HTTP.test(url) ? 'HTTP/node' : inherited
    }
    categories.set(id, category)
    return category
  }
  const self = new Map<number, number>()
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    t += delta
    if (t < fromUs || t > toUs) continue
    const id = profile.samples[i]!
    self.set(id, (self.get(id) ?? 0) + delta)
  }
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>
  const byFunction = new Map<string, [Category, number]>()
  for (const [id, us] of self) {
    const node = byId.get(id)
    if (node === undefined) continue
    const frame = node.callFrame
    const category = categoryOf(id)
    byCategory[category] += us / 1000
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|dist[^/]*)\//, '$1/')}:${frame.lineNumber + 1}`
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
