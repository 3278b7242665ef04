import {
  GetItemCommand, ScanCommand, TransactWriteItemsCommand, type AttributeValue, type DynamoDBClient
} from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import { deadLetterTable, outboxTable } from '../storage/table-names.js'
import type { OutboxRecord } from './publishers/publisher.js'

export interface DeadLetter {
  event_id: string
  entity_id: string
  type: string
  reason: string
  failed_at: string
  event: Record<string, unknown>
}

/** Moves a record the publisher refused for good out of the outbox, atomically: never dropped, never in both. */
export async function deadLetter (client: DynamoDBClient, prefix: string, record: OutboxRecord, reason: string): Promise<void> {
  await client.send(new TransactWriteItemsCommand({
    TransactItems: [
      {
        Put: {
          TableName: deadLetterTable(prefix),
          Item: {
            event_id: { S: record.eventId },
            shard: { N: String(record.shard) },
            sk: { S: record.sk },
            entity_id: { S: record.entityId },
            type: { S: record.type },
            event: { S: record.body },
            ...(record.traceparent === undefined ? {} : { traceparent: { S: record.traceparent } }),
            reason: { S: reason.slice(0, 1000) },
            failed_at: { S: new Date().toISOString() }
          }
        }
      },
      { Delete: { TableName: outboxTable(prefix), Key: { shard: { N: String(record.shard) }, sk: { S: record.sk } } } }
    ]
  }))
}

/** Every dead letter (an operator's view; the table holds only refused events). */
export async function listDeadLetters (client: DynamoDBClient, prefix: string): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = []
  let start: Record<string, AttributeValue> | undefined
  do {
    const page = await client.send(new ScanCommand({ TableName: deadLetterTable(prefix), ExclusiveStartKey: start }))
    for (const item of page.Items ?? []) {
      const row = unmarshall(item)
      letters.push({ event_id: row.event_id, entity_id: row.entity_id, type: row.type, reason: row.reason, failed_at: row.failed_at, event: JSON.parse(String(row.event)) })
    }
    start = page.LastEvaluatedKey
  } while (start !== undefined)
  return letters.sort((a, b) => a.failed_at.localeCompare(b.failed_at))
}

/** Puts a dead letter back into the outbox, at its original place, for the relay to publish again. */
export async function redrive (client: DynamoDBClient, prefix: string, eventId: string): Promise<boolean> {
  const { Item } = await client.send(new GetItemCommand({ TableName: deadLetterTable(prefix), Key: { event_id: { S: eventId } }, ConsistentRead: true }))
  if (Item === undefined) return false
  const { reason: _reason, failed_at: _failedAt, ...outboxItem } = Item
  await client.send(new TransactWriteItemsCommand({
    TransactItems: [
      { Put: { TableName: outboxTable(prefix), Item: outboxItem } },
      { Delete: { TableName: deadLetterTable(prefix), Key: { event_id: { S: eventId } }, ConditionExpression: 'attribute_exists(event_id)' } }
    ]
  }))
  return true
}
