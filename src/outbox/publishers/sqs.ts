import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs'
import { OK, type OutboxRecord, type Outcome, type Publisher } from './publisher.js'

export interface SqsOptions {
  queueUrl: string
  client?: SQSClient
}

/**
 * Amazon SQS, standard or FIFO (a queue URL ending in .fifo): batches of 10, FIFO with MessageGroupId =
 * entity id and MessageDeduplicationId = event id. A batch holds at most one event per entity, so a failed
 * entry never has a later event of the same entity delivered before it. Entries SQS blames on the sender
 * are final (dead-lettered); the rest are retried.
 */
export function sqsPublisher (options: SqsOptions): Publisher {
  const client = options.client ?? new SQSClient({})
  const fifo = options.queueUrl.endsWith('.fifo')
  const entry = (record: OutboxRecord, i: number): SendMessageBatchRequestEntry => ({
    Id: String(i),
    MessageBody: record.body,
    MessageAttributes: {
      'ce-type': { DataType: 'String', StringValue: record.type },
      'ce-id': { DataType: 'String', StringValue: record.eventId },
      'content-type': { DataType: 'String', StringValue: 'application/cloudevents+json' },
      ...(record.traceparent === undefined ? {} : { traceparent: { DataType: 'String', StringValue: record.traceparent } })
    },
    ...(fifo ? { MessageGroupId: record.entityId, MessageDeduplicationId: record.eventId } : {})
  })

  return {
    name: 'sqs',
    publish: async (records) => {
      const outcomes: Outcome[] = new Array(records.length)
      const blocked = new Set<string>()
      let pending = records.map((record, i) => ({ record, i }))
      while (pending.length > 0) {
        // Take the first pending event of each entity, up to 10: one event per entity per call.
        const batch: typeof pending = []
        const seen = new Set<string>()
        for (const p of pending) {
          if (batch.length === 10) break
          if (blocked.has(p.record.entityId)) {
            outcomes[p.i] = { status: 'retry', reason: 'an earlier event of the same entity was not delivered' }
            continue
          }
          if (seen.has(p.record.entityId)) continue
          seen.add(p.record.entityId)
          batch.push(p)
        }
        const taken = new Set(batch.map((p) => p.i))
        pending = pending.filter((p) => !taken.has(p.i) && outcomes[p.i] === undefined)
        if (batch.length === 0) continue
        try {
          const res = await client.send(new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: batch.map((p) => entry(p.record, p.i)) }))
          for (const ok of res.Successful ?? []) outcomes[Number(ok.Id)] = OK
          for (const failed of res.Failed ?? []) {
            const i = Number(failed.Id)
            outcomes[i] = failed.SenderFault === true
              ? { status: 'reject', reason: `SQS refused the message: ${failed.Code ?? ''} ${failed.Message ?? ''}`.trim() }
              : { status: 'retry', reason: `SQS failed the message: ${failed.Code ?? ''}`.trim() }
            if (outcomes[i]?.status === 'retry') blocked.add(records[i]!.entityId)
          }
        } catch (err) {
          for (const p of batch) {
            outcomes[p.i] = { status: 'retry', reason: `SQS unreachable: ${err instanceof Error ? err.message : String(err)}` }
            blocked.add(p.record.entityId)
          }
        }
      }
      return outcomes.map((o) => o ?? { status: 'retry', reason: 'not sent' })
    },
    close: async () => { if (options.client === undefined) client.destroy() }
  }
}
