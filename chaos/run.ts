/**
 * `npm run chaos [-- --only conflict-storm,broker-outage] [-- --scale full|ci]`: runs the fault scenarios
 * against a real verso, DynamoDB Local and RabbitMQ on loopback, prints one verdict line per invariant and a
 * summary, and exits 1 on any violation. Bounded: past the global deadline it kills what it started and
 * exits 2.
 */
import { parseArgs } from 'node:util'
import { killEverything } from './harness.js'
import type { Scenario, Verdict } from './scenario.js'
import { brokerOutage } from './scenarios/broker-outage.js'
import { conflictStorm } from './scenarios/conflict-storm.js'
import { crashMidWrite } from './scenarios/crash-mid-write.js'
import { dynamodbOutage } from './scenarios/dynamodb-outage.js'
import { hostileInput } from './scenarios/hostile-input.js'
import { overload } from './scenarios/overload.js'

const SCENARIOS: Scenario[] = [conflictStorm, crashMidWrite, brokerOutage, dynamodbOutage, hostileInput, overload]
/** Whatever the scale: on a loaded machine even the small runs are slow, and a run must still end by itself. */
const DEADLINE_MS = 10 * 60_000

const { values } = parseArgs({ options: { only: { type: 'string' }, scale: { type: 'string', default: 'full' } } })
const scale = values.scale
if (scale !== 'full' && scale !== 'ci') {
  process.stderr.write(`--scale must be full or ci, not ${String(scale)}\n`)
  process.exit(64)
}
const wanted = values.only?.split(',').map((s) => s.trim()).filter(Boolean)
const unknown = wanted?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? []
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`)
  process.exit(64)
}
const chosen = SCENARIOS.filter((s) => wanted === undefined || wanted.includes(s.name))

const started = Date.now()
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`
const log = (line: string): void => { process.stderr.write(`[${elapsed()}] ${line}\n`) }
const deadline = setTimeout(() => {
  process.stdout.write(`FAIL  chaos  finished within ${DEADLINE_MS / 60_000} min — deadline passed: everything started was killed\n`)
  killEverything()
  process.exit(2)
}, DEADLINE_MS)
deadline.unref()

const results: Array<{ scenario: string, verdict: Verdict }> = []
for (const scenario of chosen) {
  log(`${scenario.name}: starting (${scale})`)
  let verdicts: Verdict[]
  try {
    verdicts = await scenario.run({ scale, log })
  } catch (err) {
    verdicts = [{ invariant: 'the scenario ran to its end', ok: false, detail: err instanceof Error ? err.message : String(err) }]
  }
  for (const verdict of verdicts) {
    results.push({ scenario: scenario.name, verdict })
    process.stdout.write(`${verdict.ok ? 'PASS' : 'FAIL'}  ${scenario.name}  ${verdict.invariant} — ${verdict.detail}\n`)
  }
}
const failed = results.filter((r) => !r.verdict.ok)
process.stdout.write(`\nchaos (${scale}): ${results.length} verdicts, ${results.length - failed.length} passed, ${failed.length} failed, ${chosen.length} scenario(s) in ${elapsed()}\n`)
for (const { scenario, verdict } of failed) process.stdout.write(`  violated: ${scenario}: ${verdict.invariant}\n`)
killEverything()
process.exit(failed.length > 0 ? 1 : 0)
