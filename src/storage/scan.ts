import { paginateScan, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb'

/** Every item of a table, page after page, with consistent reads: for small tables and for tests. */
export async function scanAll (client: DynamoDBClient, table: string): Promise<Array<Record<string, AttributeValue>>> {
  const items: Array<Record<string, AttributeValue>> = []
  for await (const page of paginateScan({ client }, { TableName: table, ConsistentRead: true })) items.push(...(page.Items ?? []))
  return items
}
