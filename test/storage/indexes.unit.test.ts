import t from 'tap'
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { Type } from 'typebox'
import { startDynamoDbLocal } from '../../src/embedded/dynamodb-local.js'
import { Book } from '../../src/models/book.js'
import { defineModel } from '../../src/models/define.js'
import { createDynamoClient } from '../../src/storage/client.js'
import { ensureTables } from '../../src/storage/table-setup.js'

// A DynamoDB Local of its own: under the load of the rest of the suite, DynamoDB Local can leave an index it
// adds to an existing table in CREATING for minutes (real DynamoDB builds it in the background regardless).

t.test('a declared index is added to a table that exists without it, and waited for', async (t) => {
  const dynamo = await startDynamoDbLocal()
  const client = createDynamoClient({ endpoint: dynamo.endpoint })
  t.teardown(async () => { client.destroy(); await dynamo.stop() })
  const Plain = defineModel({ name: 'Shelf', schema: Type.Object({ room: Type.String(), level: Type.Optional(Type.Integer()) }), example: { room: 'r' } })
  const Indexed = defineModel({ name: 'Shelf', schema: Type.Object({ room: Type.String(), level: Type.Optional(Type.Integer()) }), indexes: [{ name: 'by_room', hash: 'room', range: 'level' }], example: { room: 'r' } })
  await ensureTables(client, 'ix_', [Plain])
  const result = await ensureTables(client, 'ix_', [Indexed, Book])
  t.same(result.indexesAdded, ['ix_shelf/by_room'])
  const { Table } = await client.send(new DescribeTableCommand({ TableName: 'ix_shelf' }))
  const index = Table?.GlobalSecondaryIndexes?.[0]
  t.equal(index?.IndexStatus, 'ACTIVE', 'active when ensureTables returns')
  t.same(index?.KeySchema, [{ AttributeName: 'room', KeyType: 'HASH' }, { AttributeName: 'level', KeyType: 'RANGE' }])
  t.same(Table?.AttributeDefinitions?.find((a) => a.AttributeName === 'level'), { AttributeName: 'level', AttributeType: 'N' }, 'a number field is an N key')
  t.same((await ensureTables(client, 'ix_', [Indexed])).indexesAdded, undefined, 'idempotent')
})
