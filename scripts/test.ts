/**
 * `npm test`: starts one DynamoDB Local for the whole run (unless DYNAMODB_ENDPOINT points at one), runs tap
 * with it, and ends with a digest of every failed assertion (where it sits and tap's diagnostics, so a log that
 * keeps only its tail still says what failed) and one summary line `tests: N passed, N failed, N skipped`.
 * Arguments go to tap (`npm test -- test/http/preconditions.unit.test.ts`).
 *
 * `npm run test:unit` (`--unit`): only the `*.unit.test.ts` files, pure logic that needs neither DynamoDB nor
 * Java; no DynamoDB is started and DYNAMODB_ENDPOINT is removed, so a unit test that reaches for one fails.
 */
import { spawn } from 'node:child_process'
import { startDynamoDbLocal } from '../src/embedded/dynamodb-local.js'
import { FailureDigest } from './tap-failures.js'

const unit = process.argv[2] === '--unit'
const { DYNAMODB_ENDPOINT: given, ...env } = process.env
const embedded = !unit && (given === undefined || given === '') ? await startDynamoDbLocal() : undefined
const endpoint = unit ? undefined : embedded?.endpoint ?? given
if (!unit) process.stderr.write(`tests use DynamoDB at ${String(endpoint)}${embedded === undefined ? '' : ' (DynamoDB Local started for this run)'}\n`)

const args = unit ? ['test/**/*.unit.test.ts', ...process.argv.slice(3)] : process.argv.slice(2)
const tap = spawn('npx', ['tap', '--reporter=tap', ...args], {
  stdio: ['inherit', 'pipe', 'inherit'],
  env: { ...env, ...(endpoint === undefined ? {} : { DYNAMODB_ENDPOINT: endpoint }), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }
})
let tail = ''
const failures = new FailureDigest()
tap.stdout.setEncoding('utf8') // a character split between two chunks stays whole
tap.stdout.on('data', (text: string) => {
  process.stdout.write(text)
  failures.feed(text)
  tail = (tail + text).slice(-2000)
})
// 'close', not 'exit': tap's output may still be arriving when it exits.
const code = await new Promise<number>((resolve) => {
  tap.once('close', (exitCode, signal) => { resolve(exitCode ?? (signal === null ? 1 : 128)) })
})
await embedded?.stop()

// tap's last lines are `# { total: N, pass: N, fail: N, skip: N }`; repeat them in the plain form CI reads.
const summary = /# \{ (total: \d+[^}]*) \}/.exec(tail)?.[1] ?? ''
const count = (name: string): number => Number(new RegExp(`${name}: (\\d+)`).exec(summary)?.[1] ?? 0)
const failed = count('fail') + (code !== 0 && count('fail') === 0 ? 1 : 0)
process.stdout.write(failures.report())
process.stdout.write(`\ntests: ${count('pass')} passed, ${failed} failed, ${count('skip') + count('todo')} skipped\n`)
process.exit(code)
