/**
 * The scenario verdicts that are not about stored data, each shown failing on the misbehaviour its label rules
 * out: a storm short of its planned writes, a request left unanswered while the service was up, an answer later
 * than the storage deadline allows, and a service that leaves requests unanswered or late under overload.
 */
import t from 'tap'
import { Ledger, type Answer } from '../../chaos/harness.js'
import { answersVerdict } from '../../chaos/invariants.js'
import { writesVerdict } from '../../chaos/scenarios/conflict-storm.js'
import { ANSWER_SLACK_MS, timelyVerdict } from '../../chaos/scenarios/dynamodb-outage.js'
import { ANSWER_WITHIN_MS, overloadVerdicts, type Exchange } from '../../chaos/scenarios/overload.js'

t.test('conflict storm: the planned writes, within the time, or it fails', async (t) => {
  t.ok(writesVerdict(60, 120_000, 60, 200, 30, 20).ok)
  t.notOk(writesVerdict(60, 120_000, 18, 90, 121, 6).ok, '18 of 60 (each entity contended) is not 60')
  t.notOk(writesVerdict(60, 120_000, 60, 200, 130, 20).ok, 'all of them, but too late')
  t.match(writesVerdict(2000, 300_000, 0, 0, 1, 0).invariant, /^2000 successful writes within 300 s$/)
})

const noAnswer = (ms: number): Answer => ({ status: 0, contentType: '', text: '', body: undefined, ms, error: 'ECONNRESET' })

t.test('answers: no answer is allowed only while the service was down', async (t) => {
  const ledger = new Ledger('v')
  ledger.note(noAnswer(10))
  const at = Date.now()
  t.notOk(answersVerdict(ledger).ok, 'without downtime, a reset fails')
  t.ok(answersVerdict(ledger, { downtimes: [[at - 5, at + 1000]] }).ok, 'in flight at the kill')
  t.notOk(answersVerdict(ledger, { downtimes: [[at + 5000, at + 6000]] }).ok, 'a reset while the service was up fails even in a crash scenario')
  ledger.note({ ...noAnswer(5), status: 412 })
  ledger.note({ ...noAnswer(5), status: 503 })
  ledger.note({ ...noAnswer(5), status: 0, unsent: true })
  t.ok(answersVerdict(ledger, { downtimes: [[at - 5, at + 1000]] }).ok, '412, 503 and a refused connection are expected')
  ledger.note({ ...noAnswer(5), status: 500 })
  t.notOk(answersVerdict(ledger, { downtimes: [[at - 5, at + 1000]] }).ok, 'a 500 is not')
})

t.test('DynamoDB outage: answered within the storage deadline plus the time to answer', async (t) => {
  const answer = (ms: number, status = 503): Answer => ({ status, contentType: 'application/problem+json', text: '', body: undefined, ms })
  t.ok(timelyVerdict([answer(10, 200), answer(5000), answer(5000 + ANSWER_SLACK_MS)], 5000).ok, 'the deadline firing is within the promise')
  t.notOk(timelyVerdict([answer(5000 + ANSWER_SLACK_MS + 1)], 5000).ok, 'later fails')
  t.notOk(timelyVerdict([noAnswer(15_000)], 5000).ok, 'no answer fails')
})

t.test('overload: a service that leaves requests unanswered, late or with a bare 503 fails', async (t) => {
  const e = (status: number, ms = 10, retryAfter: string | undefined = status === 503 ? '5' : undefined): Exchange => ({ via: 'new', status, retryAfter, ms })
  const failed = (list: Exchange[]): string[] => overloadVerdicts(list).filter((v) => !v.ok).map((v) => v.invariant)
  t.same(failed([e(200), e(201), e(404), e(503), e(429)]), [])
  t.same(failed([e(200), { ...e(0, 15_000), error: 'timeout' }]), ['no request unanswered'])
  t.same(failed([e(200, ANSWER_WITHIN_MS + 1)]), [`every answer within ${ANSWER_WITHIN_MS / 1000} s`])
  t.same(failed([{ ...e(503), retryAfter: undefined }]), ['every answer a success, a 4xx, or 503 with Retry-After'])
  t.same(failed([e(500)]), ['every answer a success, a 4xx, or 503 with Retry-After'])
})
