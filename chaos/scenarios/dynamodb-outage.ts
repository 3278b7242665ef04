/**
 * Scenario 4, DynamoDB outage: DynamoDB Local (persistent, -dbPath) is stopped under load (SIGTERM, see
 * Dynamo.halt for why not SIGKILL) and started again on the same port. Meanwhile verso answers 503 problem+json (never another 5xx, never internals, never later
 * than the storage deadline plus the time to answer), readiness says 503, and both recover by themselves once DynamoDB is back.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { answersVerdict, settle } from '../invariants.js'
import { call, createEntities, Ledger, openWorld, runWriters, type Answer } from '../harness.js'
import type { Scenario, Verdict } from '../scenario.js'

const REQUEST_TIMEOUT_MS = 5000
const STORAGE_TIMEOUT_MS = 5000
/**
 * What the promise allows past the storage deadline: the deadline fires while a call is still waiting, and the
 * 503 must then be made and written, on a machine that may be busy. An answer later than deadline + slack, or
 * none, fails.
 */
export const ANSWER_SLACK_MS = 2000

/** Every request answered within the storage deadline plus the slack to answer (pure: the test feeds it late and missing answers). */
export function timelyVerdict (answers: readonly Answer[], deadlineMs: number): Verdict {
  const bound = deadlineMs + ANSWER_SLACK_MS
  const slow = answers.filter((a) => a.status === 0 || a.ms > bound)
  const slowest = Math.max(0, ...answers.map((a) => a.ms))
  return {
    invariant: `every request answered within the storage deadline + ${ANSWER_SLACK_MS / 1000} s to answer (${bound} ms)`,
    ok: slow.length === 0,
    detail: `slowest ${slowest.toFixed(0)} ms${slow.length === 0 ? '' : `; ${slow.length} too slow or unanswered: ${slow.slice(0, 3).map((a) => `${a.status} ${a.ms.toFixed(0)} ms ${a.error ?? ''}`).join('; ')}`}`
  }
}
const SIZES = {
  full: { entities: 8, readers: 4, aroundMs: 2000, outageMs: 10_000 },
  ci: { entities: 3, readers: 1, aroundMs: 1000, outageMs: 2000 }
}
/** What a 503 body must never show: addresses, error codes of the socket layer, stack frames, SDK names. */
const INTERNALS = /ECONN|EPIPE|ETIMEDOUT|127\.0\.0\.1|localhost|:\d{4,5}\b|\bat .+\(|Error:|TimeoutError|dynamodb|amazonaws|SDK/i

interface Seen { answer: Answer, at: number }

export const dynamodbOutage: Scenario = {
  name: 'dynamodb-outage',
  run: async ({ scale, log }) => {
    const size = SIZES[scale]
    const world = await openWorld({ scale, log }, 'dynamodb-outage', { broker: 'optional', persistentDynamo: true, env: { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), STORAGE_TIMEOUT_MS: String(STORAGE_TIMEOUT_MS) } })
    const base = world.verso.base
    try {
      const ledger = new Ledger('ddb')
      await createEntities(base, ledger, size.entities)
      const seen: Seen[] = []
      ledger.observer = (answer) => { seen.push({ answer, at: Date.now() }) }
      const ready: Array<{ status: number, at: number }> = []
      const flag = { stopped: false }
      // The client gives up well after the request timeout, so that a hang shows as a slow answer, not a lost one.
      const timeoutMs = STORAGE_TIMEOUT_MS * 3
      const load = [
        runWriters(base, ledger, ledger.entityIds, 1, () => flag.stopped, timeoutMs),
        ...Array.from({ length: size.readers }, async () => {
          while (!flag.stopped) {
            const answer = await call(base, 'GET', '/person?limit=5', undefined, timeoutMs)
            seen.push({ answer, at: Date.now() })
            if (answer.status !== 200) await sleep(50)
          }
        }),
        (async () => {
          while (!flag.stopped) {
            ready.push({ status: (await call(base, 'GET', '/health/ready', undefined, timeoutMs)).status, at: Date.now() })
            await sleep(200)
          }
        })()
      ]
      const times = { killed: 0, restarted: 0, recovered: 0 }
      try {
        await sleep(size.aroundMs)
        await world.dynamo.halt()
        times.killed = Date.now()
        log(`dynamodb-outage: DynamoDB Local stopped for ${size.outageMs / 1000} s`)
        await sleep(size.outageMs)
        await world.dynamo.restart()
        times.restarted = Date.now()
        log('dynamodb-outage: DynamoDB Local started again on the same port')
        const acked = ledger.acknowledged()
        while (ledger.acknowledged() === acked && Date.now() - times.restarted < 60_000) await sleep(50)
        times.recovered = ledger.acknowledged() > acked ? Date.now() : 0
        while (ready.at(-1)?.status !== 200 && Date.now() - times.restarted < 60_000) await sleep(50)
        await sleep(size.aroundMs)
      } finally {
        flag.stopped = true
        await Promise.all(load)
      }

      const answers = seen.map((s) => s.answer)
      const fiveHundreds = answers.filter((a) => a.status >= 500 && a.status !== 503)
      const unavailable = answers.filter((a) => a.status === 503)
      const leaky = unavailable.filter((a) => !a.contentType.startsWith('application/problem+json') || a.body?.status !== 503 || INTERNALS.test(a.text))
      const inOutage = (at: number): boolean => at >= times.killed && at <= times.restarted
      const readyBefore = ready.filter((r) => r.at < times.killed)
      const readyAfter = ready.filter((r) => r.at > times.restarted)
      const readyTrack = readyBefore.at(-1)?.status === 200 && ready.some((r) => inOutage(r.at) && r.status === 503) && readyAfter.at(-1)?.status === 200
      const recoverySeconds = ((times.recovered - times.restarted) / 1000).toFixed(1)
      return [
        { invariant: 'the outage is felt: 503 while DynamoDB is down', ok: seen.some((s) => s.answer.status === 503 && inOutage(s.at)), detail: `${unavailable.length} answers 503 out of ${answers.length}` },
        { invariant: 'no 5xx other than 503 during the outage', ok: fiveHundreds.length === 0, detail: fiveHundreds.length === 0 ? 'none' : fiveHundreds.slice(0, 3).map((a) => `${a.status} ${a.text.slice(0, 120)}`).join('; ') },
        { invariant: 'every 503 is problem+json and names no internals', ok: leaky.length === 0, detail: leaky.length === 0 ? `${unavailable.length} checked` : leaky.slice(0, 3).map((a) => `${a.contentType} ${a.text.slice(0, 160)}`).join('; ') },
        timelyVerdict(answers, STORAGE_TIMEOUT_MS),
        { invariant: 'recovers by itself once DynamoDB is back', ok: times.recovered > 0, detail: times.recovered > 0 ? `first acknowledged write ${recoverySeconds} s after DynamoDB Local was up again` : 'no write succeeded within 60 s' },
        { invariant: 'readiness tracks DynamoDB (200, 503 while down, 200 again)', ok: readyTrack, detail: `${ready.length} probes: ${readyBefore.at(-1)?.status ?? '-'} before, ${ready.filter((r) => inOutage(r.at) && r.status === 503).length}× 503 during, ${readyAfter.at(-1)?.status ?? '-'} after` },
        answersVerdict(ledger),
        ...await settle(world, ledger, scale === 'full' ? 60_000 : 20_000)
      ]
    } finally {
      await world.close()
    }
  }
}
