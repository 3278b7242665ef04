import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { CreateTableCommand, PutItemCommand, type KeySchemaElement } from '@aws-sdk/client-dynamodb'
import { parseModelFile } from '../../src/models/load-models.js'
import { createDynamoClient } from '../../src/storage/client.js'
import { checkTables, ensureTables } from '../../src/storage/table-setup.js'
import { endpoint } from '../support/helper.js'

// A model file whose name maps to a table that exists in another shape is refused before anything is created.

const INVOICE = JSON.parse(readFileSync('examples/models/invoice.json', 'utf8')) as Record<string, any>
const model = (changes: Record<string, unknown> = {}): ReturnType<typeof parseModelFile> =>
  parseModelFile('invoice.json', JSON.stringify({ ...INVOICE, ...changes }))

t.test('existing tables with other keys, key types or index keys are refused', async (t) => {
  const client = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { client.destroy() })
  const create = async (TableName: string, keys: Array<[string, 'HASH' | 'RANGE', 'S' | 'N']>, index?: [string, string]): Promise<void> => {
    await client.send(new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: keys.map(([AttributeName, KeyType]): KeySchemaElement => ({ AttributeName, KeyType })),
      AttributeDefinitions: [...keys.map(([AttributeName, , AttributeType]) => ({ AttributeName, AttributeType })), ...(index === undefined ? [] : [{ AttributeName: index[1], AttributeType: 'S' as const }])],
      ...(index === undefined ? {} : { GlobalSecondaryIndexes: [{ IndexName: index[0], KeySchema: [{ AttributeName: index[1], KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }] })
    }))
  }
  const prefix = (): string => `tk${randomBytes(3).toString('hex')}_`

  const p1 = prefix()
  await create(`${p1}invoice`, [['id', 'HASH', 'S']])
  await t.rejects(ensureTables(client, p1, [model()]), { message: `table ${p1}invoice exists with keys (id:HASH), verso needs (entity_id:HASH)` }, 'a raw table of that name with other keys')
  t.same((await checkTables(client, p1, [])).existing, [], 'refused before anything was created (no outbox either)')

  const p2 = prefix()
  await create(`${p2}invoice`, [['entity_id', 'HASH', 'N']])
  await t.rejects(checkTables(client, p2, [model()]), { message: `table ${p2}invoice has key attribute entity_id of type N, verso needs S` }, 'same key name, other type')

  const p3 = prefix()
  await create(`${p3}invoice_audit`, [['entity_id', 'HASH', 'S']])
  await t.rejects(checkTables(client, p3, [model()]), { message: `table ${p3}invoice_audit exists with keys (entity_id:HASH), verso needs (entity_id:HASH,version:RANGE)` }, 'an audit table without the version range key')

  const p4 = prefix()
  await create(`${p4}invoice`, [['entity_id', 'HASH', 'S']], ['by_customer', 'number'])
  await t.rejects(checkTables(client, p4, [model()]), { message: `index by_customer of table ${p4}invoice exists with keys (number:HASH), the model declares (customer:HASH,number:RANGE)` }, 'an index of that name on other keys')
})

t.test('a non-versioned model with data does not turn versioned; the other way the audit table is ignored', async (t) => {
  const client = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { client.destroy() })
  const prefix = `tv${randomBytes(3).toString('hex')}_`
  await ensureTables(client, prefix, [model({ versioned: false })])
  t.same((await checkTables(client, prefix, [model()])).missing, [`${prefix}invoice_audit`], 'an empty table may become versioned')
  await client.send(new PutItemCommand({ TableName: `${prefix}invoice`, Item: { entity_id: { S: '0'.repeat(32) }, number: { S: 'INV-0001' } } }))
  await t.rejects(ensureTables(client, prefix, [model()]), { message: new RegExp(`^table ${prefix}invoice holds entities but ${prefix}invoice_audit does not exist`) })

  const other = `tv${randomBytes(3).toString('hex')}_`
  await ensureTables(client, other, [model()])
  t.same((await checkTables(client, other, [model({ versioned: false })])).missing, [], 'versioned → non-versioned: its audit table is left alone')
})
