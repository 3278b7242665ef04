import t from 'tap'
import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { models } from '../../src/models/index.js'
import { createDynamoClient } from '../../src/storage/client.js'
import { ensureTables } from '../../src/storage/table-setup.js'
import { endpoint } from '../support/helper.js'

const run = promisify(execFile)

t.test('ensureTables creates main, audit and outbox tables with Rococo keys, idempotently', async (t) => {
  const client = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { client.destroy() })
  const prefix = `tb${randomBytes(3).toString('hex')}_`
  const [first, second] = await Promise.all([ensureTables(client, prefix, models), ensureTables(client, prefix, models)])
  const expected = [`${prefix}book`, `${prefix}book_audit`, `${prefix}person`, `${prefix}person_audit`, `${prefix}verso_idempotency`, `${prefix}verso_outbox`, `${prefix}verso_outbox_dead`, `${prefix}verso_relay_leases`]
  t.same([...new Set([...first.created, ...second.created])].sort(), expected, 'each table created once, even by two concurrent callers')
  const again = await ensureTables(client, prefix, models)
  t.same(again, { created: [], existing: expected }, 'a second run creates nothing')

  const describe = async (name: string): Promise<any> => (await client.send(new DescribeTableCommand({ TableName: name }))).Table
  const main = await describe(`${prefix}person`)
  t.same(main.KeySchema, [{ AttributeName: 'entity_id', KeyType: 'HASH' }])
  t.equal(main.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST')
  const audit = await describe(`${prefix}person_audit`)
  t.same(audit.KeySchema, [{ AttributeName: 'entity_id', KeyType: 'HASH' }, { AttributeName: 'version', KeyType: 'RANGE' }])
})

t.test('a table with other keys is refused, never altered', async (t) => {
  const client = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { client.destroy() })
  const prefix = `tb${randomBytes(3).toString('hex')}_`
  await client.send(new CreateTableCommand({
    TableName: `${prefix}person`,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }]
  }))
  await t.rejects(ensureTables(client, prefix, models), /person exists with keys \(id:HASH\), verso needs \(entity_id:HASH\)/)
})

t.test('npm run tables creates the tables for operators', async (t) => {
  const prefix = `tc${randomBytes(3).toString('hex')}_`
  const env = { ...process.env, DYNAMODB_ENDPOINT: endpoint(), TABLE_PREFIX: prefix, AUTH_MODE: 'none' }
  const first = await run('npx', ['tsx', 'src/bin/tables.ts'], { env })
  t.match(first.stdout, `created: ${prefix}book, ${prefix}book_audit`)
  const second = await run('npx', ['tsx', 'src/bin/tables.ts'], { env })
  t.match(second.stdout, 'created: (none)')
  const bad = await run('npx', ['tsx', 'src/bin/tables.ts'], { env: { ...env, TABLE_PREFIX: 'no spaces allowed' } }).catch((err: { code: number, stderr: string }) => err)
  t.equal((bad as { code: number }).code, 1)
  t.match((bad as { stderr: string }).stderr, /TABLE_PREFIX/)
})
