import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { SQSClient } from '@aws-sdk/client-sqs'
import { sqsPublisher } from '../../src/outbox/publishers/sqs.js'
import type { OutboxRecord } from '../../src/outbox/publishers/publisher.js'

// There is no SQS on this machine: a local HTTP server answers SendMessageBatch in SQS's JSON protocol, so
// the real SDK client, its request shape and its checksum validation are exercised.

interface Entry { Id: string, MessageBody: string, MessageGroupId?: string, MessageDeduplicationId?: string, MessageAttributes?: Record<string, { StringValue: string }> }

async function fakeSqs (t: Test, fail: (e: Entry) => 'ok' | 'retry' | 'reject'): Promise<{ endpoint: string, calls: Entry[][] }> {
  const calls: Entry[][] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      const request = JSON.parse(body) as { Entries: Entry[] }
      t.equal(req.headers['x-amz-target'], 'AmazonSQS.SendMessageBatch')
      calls.push(request.Entries)
      const Successful: unknown[] = []
      const Failed: unknown[] = []
      for (const e of request.Entries) {
        const verdict = fail(e)
        if (verdict === 'ok') Successful.push({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex') })
        else Failed.push({ Id: e.Id, SenderFault: verdict === 'reject', Code: verdict === 'reject' ? 'InvalidParameterValue' : 'InternalError', Message: 'no' })
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ Successful, Failed }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return { endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, calls }
}

const record = (entity: string, n: number): OutboxRecord => ({
  shard: 0, sk: `${n}`, eventId: `${entity}-ev${n}`, entityId: entity, type: 'verso.person.updated', body: JSON.stringify({ id: `${entity}-ev${n}`, subject: entity })
})

const client = (endpoint: string): SQSClient => new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })

t.test('FIFO: group = entity, dedup id = event id, ≤ 10 per call, one event per entity per call', async (t) => {
  const sqs = await fakeSqs(t, () => 'ok')
  const publisher = sqsPublisher({ queueUrl: `${sqs.endpoint}/123456789012/events.fifo`, client: client(sqs.endpoint) })
  const records = [...Array.from({ length: 12 }, (_, i) => record(`e${i}`, 1)), record('e0', 2), record('e0', 3)]
  const outcomes = await publisher.publish(records)
  t.ok(outcomes.every((o) => o.status === 'ok'))
  t.ok(sqs.calls.every((c) => c.length <= 10), 'batches of at most 10')
  t.ok(sqs.calls.every((c) => new Set(c.map((e) => e.MessageGroupId)).size === c.length), 'one event per entity per call')
  const all = sqs.calls.flat()
  t.equal(all.length, 14)
  t.ok(all.every((e) => e.MessageGroupId === JSON.parse(e.MessageBody).subject && e.MessageDeduplicationId === JSON.parse(e.MessageBody).id))
  t.same(all.filter((e) => e.MessageGroupId === 'e0').map((e) => e.MessageDeduplicationId), ['e0-ev1', 'e0-ev2', 'e0-ev3'], 'an entity\'s events go out in order')
  t.equal(all[0]?.MessageAttributes?.['ce-type']?.StringValue, 'verso.person.updated')
})

t.test('standard queue: no FIFO attributes', async (t) => {
  const sqs = await fakeSqs(t, () => 'ok')
  const publisher = sqsPublisher({ queueUrl: `${sqs.endpoint}/123456789012/events`, client: client(sqs.endpoint) })
  await publisher.publish([record('a', 1)])
  t.equal(sqs.calls[0]?.[0]?.MessageGroupId, undefined)
})

t.test('partial batch failures: server faults retried, sender faults final, later events of a failed entity held back', async (t) => {
  const sqs = await fakeSqs(t, (e) => e.MessageDeduplicationId === 'a-ev1' ? 'retry' : e.MessageDeduplicationId === 'b-ev1' ? 'reject' : 'ok')
  const publisher = sqsPublisher({ queueUrl: `${sqs.endpoint}/1/q.fifo`, client: client(sqs.endpoint) })
  const outcomes = await publisher.publish([record('a', 1), record('b', 1), record('c', 1), record('a', 2), record('b', 2)])
  t.same(outcomes.map((o) => o.status), ['retry', 'reject', 'ok', 'retry', 'ok'])
  t.notOk(sqs.calls.flat().some((e) => e.MessageDeduplicationId === 'a-ev2'), 'a-ev2 was not sent after a-ev1 failed')
})

t.test('SQS unreachable: everything is retried', async (t) => {
  const publisher = sqsPublisher({ queueUrl: 'http://127.0.0.1:1/1/q.fifo', client: new SQSClient({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 }) })
  const outcomes = await publisher.publish([record('a', 1), record('b', 1)])
  t.same(outcomes.map((o) => o.status), ['retry', 'retry'])
})
