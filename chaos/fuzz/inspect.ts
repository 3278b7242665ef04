import type { Answer, HostileRequest, Outcome } from './send.js'

/**
 * What must never be in a body: traces of the implementation. A match that also appears in the request is the
 * client's own text echoed back (a refused value named in a validation problem) and does not count.
 */
const LEAKS: ReadonlyArray<readonly [string, RegExp]> = [
  ['stack frame', /\bat [^\s()]*\s?\(?(?:file:\/\/|node:|\/)[^\s)]*:\d+(?::\d+)?/],
  ['source path', /\/src\/|\/dist\/|node_modules|\/work\/|\w\.[cm]?[tj]s:\d+/],
  ['error class', /\b(?:Type|Range|Reference|Syntax|Eval|URI|Aggregate)?Error:/],
  ['JavaScript exception', /\b(?:TypeError|RangeError|ReferenceError|SyntaxError)\b/],
  ['AWS SDK exception', /\b\w+Exception\b|\$metadata|\$fault|httpStatusCode|InternalServerError/],
  ['runtime message', /Cannot read propert|is not a function|is not defined|Unexpected token|Unexpected end of JSON|Maximum call stack|JSON at position|Invalid string length/]
]

/** Bodies that are static documents (OpenAPI, Swagger UI's bundles), not answers built from a request. */
const STATIC = /^\/(?:docs(?:\/|$)|openapi\.json)/

const CODE = /^VERSO_[A-Z0-9_]+$/

export interface Example { request: string, status: number | string, what: string }

/** Tallies answers against the scenario's invariants, keeping only counters and the first counter-examples. */
export class Inspector {
  readonly byStatus = new Map<string, number>()
  readonly codes = new Map<string, number>()
  answered = 0
  readonly serverErrors: Example[] = []
  serverErrorCount = 0
  readonly notProblems: Example[] = []
  notProblemCount = 0
  readonly leaks: Example[] = []
  leakCount = 0
  readonly unanswered: Example[] = []
  unansweredCount = 0
  readonly unexpected: Example[] = []
  unexpectedCount = 0
  expectedChecked = 0
  /** The slowest requests: a hostile input that costs the service CPU shows up here. */
  readonly slowest: Array<{ request: string, ms: number }> = []

  record (request: HostileRequest, outcome: Outcome, ms: number): void {
    if (this.slowest.length < MAX_EXAMPLES || ms > (this.slowest.at(-1)?.ms ?? 0)) {
      this.slowest.push({ request: `${request.label}: ${request.method} ${request.path.slice(0, 80)}`, ms: Math.round(ms) })
      this.slowest.sort((a, b) => b.ms - a.ms)
      this.slowest.length = Math.min(this.slowest.length, MAX_EXAMPLES)
    }
    if ('failure' in outcome) {
      // Only what is not a request may be closed without an answer, and only on purpose: promptly, by the server.
      const closedOnPurpose = request.mayCloseWithoutAnswer === true && outcome.ending === 'closed' && ms <= PROMPT_CLOSE_MS
      if (closedOnPurpose) this.bump(this.byStatus, 'closed on purpose')
      else {
        this.unansweredCount = note(this.unanswered, this.unansweredCount, request, outcome.ending === 'timeout' ? 'no answer (client gave up)' : 'closed without an answer', `${outcome.failure} after ${Math.round(ms)} ms`)
        this.bump(this.byStatus, 'no answer')
      }
      return
    }
    const { answer } = outcome
    this.answered++
    this.bump(this.byStatus, `${Math.floor(answer.status / 100)}xx`)
    if (answer.status >= 500) this.serverErrorCount = note(this.serverErrors, this.serverErrorCount, request, answer.status, answer.body.slice(0, 300))
    if (answer.status >= 400) {
      const problem = problemDefect(request, answer)
      if (problem !== undefined) this.notProblemCount = note(this.notProblems, this.notProblemCount, request, answer.status, problem)
    }
    const leak = leakIn(request, answer)
    if (leak !== undefined) this.leakCount = note(this.leaks, this.leakCount, request, answer.status, leak)
    if (request.expect !== undefined) {
      this.expectedChecked++
      const allowed = Array.isArray(request.expect) ? request.expect : [request.expect]
      if (!allowed.includes(answer.status)) this.unexpectedCount = note(this.unexpected, this.unexpectedCount, request, answer.status, `expected ${allowed.join(' or ')}: ${answer.body.slice(0, 200)}`)
    }
  }

  private bump (map: Map<string, number>, key: string): void { map.set(key, (map.get(key) ?? 0) + 1) }

  /** `2xx 812, 4xx 688` */
  summary (): string {
    return [...this.byStatus].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(', ')
  }
}

const MAX_EXAMPLES = 5
/** A connection closed later than this without an answer was not closed on purpose but given up on. */
export const PROMPT_CLOSE_MS = 2000

function note (list: Example[], count: number, request: HostileRequest, status: number | string, what: string): number {
  if (list.length < MAX_EXAMPLES) list.push({ request: `${request.label}: ${request.method} ${request.path.slice(0, 120)}`, status, what })
  return count + 1
}

export const describeExamples = (examples: Example[]): string =>
  examples.map((e) => `[${e.request} → ${e.status}: ${e.what}]`).join(' ')

/** Why an error answer is not an RFC 9457 problem with a stable code, or undefined when it is one. */
function problemDefect (request: HostileRequest, answer: Answer): string | undefined {
  const type = String(answer.headers['content-type'] ?? '')
  if (!type.startsWith('application/problem+json')) return `content-type ${JSON.stringify(type)}`
  if (request.method === 'HEAD') return undefined
  let body: Record<string, unknown>
  try {
    body = JSON.parse(answer.body) as Record<string, unknown>
  } catch {
    return `body is not JSON: ${answer.body.slice(0, 100)}`
  }
  const missing = ['type', 'title', 'detail', 'instance'].filter((k) => typeof body[k] !== 'string')
  if (missing.length > 0) return `missing ${missing.join(', ')}`
  if (body.status !== answer.status) return `status member ${String(body.status)} ≠ ${answer.status}`
  if (typeof body.code !== 'string' || !CODE.test(body.code)) return `code ${JSON.stringify(body.code)}`
  return undefined
}

function leakIn (request: HostileRequest, answer: Answer): string | undefined {
  if (answer.status < 400 && STATIC.test(request.path)) return undefined
  const sent = requestText(request)
  for (const [what, pattern] of LEAKS) {
    const m = pattern.exec(answer.body)
    if (m !== null && !sent.includes(m[0])) return `${what} ${JSON.stringify(m[0])} in ${JSON.stringify(answer.body.slice(Math.max(0, m.index - 80), m.index + 120))}`
  }
  return undefined
}

function requestText (request: HostileRequest): string {
  const body = request.raw ?? request.body ?? ''
  const text = typeof body === 'string' ? body : body.subarray(0, 1 << 20).toString('utf8')
  let path = request.path
  try { path += ` ${decodeURIComponent(request.path)}` } catch {}
  return `${path} ${JSON.stringify(request.headers ?? {})} ${text}`
}
