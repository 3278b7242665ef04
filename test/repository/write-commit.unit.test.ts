import t from 'tap'
import { GetItemCommand, TransactionCanceledException, TransactWriteItemsCommand, type CancellationReason } from '@aws-sdk/client-dynamodb'
import { ZERO_ID } from '../../src/models/entity.js'
import { Person } from '../../src/models/person.js'
import type { DynamoSender } from '../../src/storage/client.js'
import { toItem, type Item } from '../../src/storage/item-mapping.js'
import { IdempotencyRecords } from '../../src/repository/idempotency-records.js'
import { cancellationReasons, commit, commitWrites, isTransient, refusalsOf, unexplained, type CommitSettings } from '../../src/repository/write-commit.js'
import { planChange, planCheck, planCreate, type Reasons } from '../../src/repository/write-plan.js'

// The commit engine without DynamoDB: the reason → error mapping, and the engine driven by a scripted sender.
const settings = { tablePrefix: 't_', outboxShards: 8, eventSource: '/verso' }
const ID = '0123456789abcdef0123456789abcdef'
const OTHER = 'abcdef0123456789abcdef0123456789'
const V1 = '0190a0b0c0d07000800000000000000a'
const V2 = '0190a0b0c0d07000800000000000000b'

const personItem = (version: string): Item =>
  toItem(Person, { first_name: 'Ada', last_name: 'Lovelace', entity_id: ID, version, previous_version: ZERO_ID, changed_on: '2024-07-01T10:00:00.000000+00:00', changed_by_id: ZERO_ID, active: true })
const reason = (Code: string, Message?: string): CancellationReason => ({ Code, ...(Message === undefined ? {} : { Message }) })
const cancelled = (reasons: CancellationReason[]): TransactionCanceledException =>
  new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {}, CancellationReasons: reasons })

/** A sender that answers each TransactWriteItems with the next of `outcomes` (undefined: committed) and GetItem with `current`. */
function scripted (outcomes: Array<CancellationReason[] | undefined>, current?: Item): { sender: DynamoSender, sent: string[] } {
  const sent: string[] = []
  const send = async (command: unknown): Promise<unknown> => {
    if (command instanceof GetItemCommand) {
      sent.push('GetItem')
      return { Item: current }
    }
    if (!(command instanceof TransactWriteItemsCommand)) throw new Error('unexpected command')
    sent.push(`TransactWriteItems(${command.input.TransactItems?.length ?? 0})`)
    const outcome = outcomes.shift()
    if (outcome !== undefined) throw cancelled(outcome)
    return {}
  }
  return { sender: { send: send as DynamoSender['send'] }, sent }
}

function engine (outcomes: Array<CancellationReason[] | undefined>, current?: Item): { commitSettings: CommitSettings, sent: string[], announced: number[] } {
  const { sender, sent } = scripted(outcomes, current)
  const announced: number[] = []
  return { commitSettings: { client: sender, idempotency: new IdempotencyRecords(sender, 't_verso_idempotency'), onEventCommitted: (shard) => { announced.push(shard) } }, sent, announced }
}

t.test('cancellation reasons: None and missing codes are fine items', async (t) => {
  const reasons = cancellationReasons(cancelled([{ Code: 'None' }, {}, reason('ConditionalCheckFailed')]))
  t.same(reasons, [undefined, undefined, { Code: 'ConditionalCheckFailed' }])
})

t.test('transient: only conflicts and throttling', async (t) => {
  t.equal(isTransient([undefined, reason('TransactionConflict')]), true)
  t.equal(isTransient([reason('ThrottlingError'), reason('ProvisionedThroughputExceeded')]), true)
  t.equal(isTransient([reason('TransactionConflict'), reason('ConditionalCheckFailed')]), false)
  t.equal(isTransient([reason('ValidationError')]), false)
})

t.test('unexplained cancellations: refused values, contention, unavailable storage', async (t) => {
  t.match(unexplained([undefined, reason('ValidationError', 'Item size has exceeded the maximum allowed size')]), { statusCode: 413, code: 'VERSO_ENTITY_TOO_LARGE' })
  t.match(unexplained([reason('ValidationError', 'Number overflow')]), { statusCode: 400, code: 'VERSO_UNSTORABLE_VALUE' })
  t.match(unexplained([reason('TransactionConflict')]), { statusCode: 409, code: 'VERSO_WRITE_CONTENTION' })
  t.match(unexplained([reason('ThrottlingError')]), { statusCode: 503, code: 'VERSO_STORAGE_UNAVAILABLE' })
})

t.test('refusalsOf: each write is given the reasons of its own items', async (t) => {
  const create = planCreate(settings, Person, { first_name: 'A', last_name: 'B' }, { entityId: OTHER })
  const change = planChange(settings, Person, ID, { current: personItem(V1) }, { kind: 'delete' }, { expected: { versions: [V1], source: 'if-match' } })
  const check = planCheck(settings, Person, ID, personItem(V1), { exists: true })
  const reasons: Reasons = [undefined, undefined, undefined, reason('ConditionalCheckFailed'), undefined]
  const refusals = refusalsOf([create, change], reasons)
  t.equal(refusals.length, 1)
  t.equal(refusals[0]?.index, 1)
  const refusal = refusals[0]?.refusal
  t.ok(refusal !== undefined && 'reread' in refusal, 'a stale version is read again')
  t.same(refusalsOf([create, check], [reason('ConditionalCheckFailed'), undefined, undefined]).map((r) => [r.index, 'error' in r.refusal ? r.refusal.error.code : 'reread']), [[0, 'VERSO_ALREADY_EXISTS']])
  const tooLarge = refusalsOf([create, check], [undefined, undefined, reason('ValidationError', 'Item size too large')])
  t.same(tooLarge.map((r) => [r.index, 'error' in r.refusal ? r.refusal.error.code : 'reread']), [[1, 'VERSO_ENTITY_TOO_LARGE']], 'DynamoDB names the item it refuses')
  t.same(refusalsOf([create], [undefined, reason('TransactionConflict')]), [])
})

t.test('commit: one TransactWriteItems, then the shard of every event the plans chose', async (t) => {
  const a = planCreate(settings, Person, { first_name: 'A', last_name: 'B' }, { entityId: ID })
  const b = planCreate(settings, Person, { first_name: 'C', last_name: 'D' }, { entityId: OTHER })
  const check = planCheck(settings, Person, ID, undefined, { exists: false })
  const { commitSettings, sent, announced } = engine([undefined])
  t.equal(await commit(commitSettings, [a, check, b]), undefined)
  t.same(sent, ['TransactWriteItems(5)'])
  t.same(announced, [a.shard, b.shard])
})

t.test('commit: contention is retried, then answered with the reasons; nothing is announced', async (t) => {
  const a = planCreate(settings, Person, { first_name: 'A', last_name: 'B' }, { entityId: ID })
  const conflict = [reason('TransactionConflict'), { Code: 'None' }]
  const retried = engine([conflict, undefined])
  t.equal(await commit(retried.commitSettings, [a]), undefined)
  t.same(retried.sent, ['TransactWriteItems(2)', 'TransactWriteItems(2)'])
  t.same(retried.announced, [a.shard])
  const lasting = engine([conflict, conflict, conflict, conflict, conflict])
  t.same(await commit(lasting.commitSettings, [a]), [{ Code: 'TransactionConflict' }, undefined])
  t.equal(lasting.sent.length, 4, 'at most 4 attempts')
  t.same(lasting.announced, [])
  const failed = engine([[reason('ConditionalCheckFailed'), { Code: 'None' }]])
  t.same(await commit(failed.commitSettings, [a]), [{ Code: 'ConditionalCheckFailed' }, undefined])
  t.equal(failed.sent.length, 1, 'a failed condition is the answer, not retried')
})

t.test('commitWrites: a stale version found at commit is read again and answered by its source', async (t) => {
  const change = planChange(settings, Person, ID, { current: personItem(V1) }, { kind: 'delete' }, { expected: { versions: [V1], source: 'if-match' } })
  const { commitSettings, sent } = engine([[{ Code: 'None' }, reason('ConditionalCheckFailed'), { Code: 'None' }]], personItem(V2))
  const failures = await commitWrites(commitSettings, [change])
  t.same(sent, ['TransactWriteItems(3)', 'GetItem'])
  t.equal(failures.length, 1)
  t.match(failures[0], { index: 0, error: { statusCode: 412, code: 'VERSO_PRECONDITION_FAILED', extra: { current_version: V2 } } })
})

t.test('commitWrites: a cancellation no write explains is thrown', async (t) => {
  const a = planCreate(settings, Person, { first_name: 'A', last_name: 'B' }, { entityId: ID })
  const throttled = [{ Code: 'None' }, reason('ThrottlingError')]
  await t.rejects(commitWrites(engine([throttled, throttled, throttled, throttled]).commitSettings, [a]), { code: 'VERSO_STORAGE_UNAVAILABLE' })
  await t.rejects(commitWrites(engine([[{ Code: 'None' }, reason('ConditionalCheckFailed')]]).commitSettings, [a]), { code: 'VERSO_STORAGE_UNAVAILABLE' }, 'an outbox collision is nobody\'s')
})
