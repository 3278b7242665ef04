import {
  CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, ResourceInUseException, ResourceNotFoundException,
  UpdateTableCommand, UpdateTimeToLiveCommand, waitUntilTableExists, type AttributeDefinition, type CreateTableCommandInput,
  ScanCommand, type DynamoDBClient, type GlobalSecondaryIndex, type KeySchemaElement, type TableDescription
} from '@aws-sdk/client-dynamodb'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Model } from '../models/define.js'
import { deadLetterTable, idempotencyTable, leaseTable, modelTables, outboxTable } from './table-names.js'

type TableSpec = Pick<CreateTableCommandInput, 'TableName' | 'KeySchema' | 'AttributeDefinitions'> & {
  TableName: string
  KeySchema: KeySchemaElement[]
  /** Attribute holding an epoch-seconds expiry for DynamoDB's TTL. */
  ttlAttribute?: string
  GlobalSecondaryIndexes?: GlobalSecondaryIndex[]
}

/** The model's declared indexes as GSIs (all attributes projected), with their key attribute types. */
function indexSpecs (model: Model): { indexes: GlobalSecondaryIndex[], attributes: AttributeDefinition[] } {
  const attributes = new Map<string, 'S' | 'N'>()
  const indexes = model.indexes.map((index): GlobalSecondaryIndex => {
    const keys = [index.hash, ...(index.range === undefined ? [] : [index.range])]
    for (const field of keys) attributes.set(field, model.fieldTypes.get(field)?.keyType ?? 'N')
    return {
      IndexName: index.name,
      KeySchema: keys.map((field, i) => ({ AttributeName: field, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
      Projection: { ProjectionType: 'ALL' }
    }
  })
  return { indexes, attributes: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })) }
}

function spec (TableName: string, hash: string, range?: string, hashType: 'S' | 'N' = 'S'): TableSpec {
  return {
    TableName,
    KeySchema: [{ AttributeName: hash, KeyType: 'HASH' }, ...(range === undefined ? [] : [{ AttributeName: range, KeyType: 'RANGE' as const }])],
    AttributeDefinitions: [{ AttributeName: hash, AttributeType: hashType }, ...(range === undefined ? [] : [{ AttributeName: range, AttributeType: 'S' as const }])]
  }
}

/** Every table verso needs for these models: main and audit per model (Rococo's keys), and the outbox. */
export function tableSpecs (prefix: string, models: readonly Model[]): TableSpec[] {
  const specs: TableSpec[] = []
  for (const model of models) {
    const { main, audit } = modelTables(prefix, model)
    const mainSpec = spec(main, 'entity_id')
    const { indexes, attributes } = indexSpecs(model)
    specs.push(indexes.length === 0
      ? mainSpec
      : { ...mainSpec, GlobalSecondaryIndexes: indexes, AttributeDefinitions: [...(mainSpec.AttributeDefinitions ?? []), ...attributes] })
    if (model.versioned) specs.push(spec(audit, 'entity_id', 'version'))
  }
  specs.push(spec(outboxTable(prefix), 'shard', 'sk', 'N'))
  specs.push({ ...spec(leaseTable(prefix), 'lease'), ttlAttribute: 'ttl' })
  specs.push(spec(deadLetterTable(prefix), 'event_id'))
  specs.push({ ...spec(idempotencyTable(prefix), 'pk'), ttlAttribute: 'expires_at' })
  return specs
}

const keyText = (keys: readonly KeySchemaElement[] | undefined): string =>
  (keys ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',')

/** Why an existing table cannot serve as `expected`: other keys, key types or index keys. verso never alters keys. */
function keyProblem (table: TableDescription | undefined, expected: TableSpec): string | undefined {
  const name = expected.TableName
  if (keyText(table?.KeySchema) !== keyText(expected.KeySchema)) return `table ${name} exists with keys (${keyText(table?.KeySchema)}), verso needs (${keyText(expected.KeySchema)})`
  const types = new Map((table?.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]))
  for (const { AttributeName, AttributeType } of expected.AttributeDefinitions ?? []) {
    const found = types.get(AttributeName)
    if (found !== undefined && found !== AttributeType) return `table ${name} has key attribute ${String(AttributeName)} of type ${found}, verso needs ${String(AttributeType)}`
  }
  for (const index of expected.GlobalSecondaryIndexes ?? []) {
    const found = table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === index.IndexName)
    if (found !== undefined && keyText(found.KeySchema) !== keyText(index.KeySchema)) {
      return `index ${String(index.IndexName)} of table ${name} exists with keys (${keyText(found.KeySchema)}), the model declares (${keyText(index.KeySchema)})`
    }
  }
  return undefined
}

async function describeTable (client: DynamoDBClient, TableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName }))).Table
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined
    throw err
  }
}

/** Whether an active table holds at least one item (one Scan of one item). */
async function holdsItems (client: DynamoDBClient, table: TableDescription): Promise<boolean> {
  if (table.TableStatus !== 'ACTIVE') return false
  const { Items } = await client.send(new ScanCommand({ TableName: table.TableName, Limit: 1, ProjectionExpression: 'entity_id' }))
  return (Items ?? []).length > 0
}

/**
 * Refuses, before anything is created, tables that exist in a shape verso cannot use: other keys or key
 * types (a model file whose name maps to someone else's table), an index of the same name on other keys, or a
 * versioned model over a main table that already holds entities without an audit table (it was non-versioned:
 * its items have no version to lock on). An audit table left by a model that is now non-versioned is ignored.
 * Says which tables exist and which are missing.
 */
export async function checkTables (client: DynamoDBClient, prefix: string, models: readonly Model[]): Promise<{ existing: string[], missing: string[] }> {
  const specs = tableSpecs(prefix, models)
  const found = new Map(await Promise.all(specs.map(async (s) => [s.TableName, await describeTable(client, s.TableName)] as const)))
  for (const spec of specs) {
    const table = found.get(spec.TableName)
    const problem = table === undefined ? undefined : keyProblem(table, spec)
    if (problem !== undefined) throw new Error(problem)
  }
  for (const model of models) {
    const { main, audit } = modelTables(prefix, model)
    const mainTable = found.get(main)
    if (model.versioned && mainTable !== undefined && found.get(audit) === undefined && await holdsItems(client, mainTable)) {
      throw new Error(`table ${main} holds entities but ${audit} does not exist: ${model.name} was not versioned, and verso does not switch a model with data to versioned (its items have no version)`)
    }
  }
  const names = specs.map((s) => s.TableName).sort()
  return { existing: names.filter((n) => found.get(n) !== undefined), missing: names.filter((n) => found.get(n) === undefined) }
}

export interface EnsureResult {
  created: string[]
  existing: string[]
  /** Indexes added to tables that existed without them, as `table/index`. */
  indexesAdded?: string[]
}

/**
 * Creates the missing tables (on-demand billing) and waits until they are active. Idempotent and safe to run
 * from several replicas at once. A table that exists with other keys is an error: verso never alters keys.
 */
export async function ensureTables (client: DynamoDBClient, prefix: string, models: readonly Model[]): Promise<EnsureResult> {
  const result: EnsureResult = { created: [], existing: [] }
  const missing = new Set((await checkTables(client, prefix, models)).missing)
  await Promise.all(tableSpecs(prefix, models).map(async (table) => {
    if (!missing.has(table.TableName) || !await createTable(client, table, result)) await adoptTable(client, table, result)
  }))
  result.created.sort()
  result.existing.sort()
  return result
}

/** Creates a table checkTables found missing; false when another process has created it meanwhile. */
async function createTable (client: DynamoDBClient, table: TableSpec, result: EnsureResult): Promise<boolean> {
  const { ttlAttribute, ...definition } = table
  let status: string | undefined
  try {
    status = (await client.send(new CreateTableCommand({ ...definition, BillingMode: 'PAY_PER_REQUEST' }))).TableDescription?.TableStatus
  } catch (err) {
    if (err instanceof ResourceInUseException) return false
    throw err
  }
  result.created.push(table.TableName)
  // DynamoDB answers CREATING (DynamoDB Local: ACTIVE at once, which spares the embedded start a round trip).
  if (status !== 'ACTIVE') await untilActive(client, table.TableName)
  if (ttlAttribute !== undefined) await enableTtl(client, table.TableName, ttlAttribute)
  return true
}

/** A table that exists (made by another process since checkTables looked, perhaps): checked, waited for, completed. */
async function adoptTable (client: DynamoDBClient, table: TableSpec, result: EnsureResult): Promise<void> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: table.TableName }))
  const problem = keyProblem(Table, table)
  if (problem !== undefined) throw new Error(problem)
  result.existing.push(table.TableName)
  // Another replica may have just created it: wait until it is usable.
  if (Table?.TableStatus !== 'ACTIVE') await untilActive(client, table.TableName)
  await addMissingIndexes(client, table, new Set((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName)), result)
  if (table.ttlAttribute !== undefined) await enableTtl(client, table.TableName, table.ttlAttribute)
}

/** Waits (up to 2 minutes) until a table DynamoDB is creating is ACTIVE. */
async function untilActive (client: DynamoDBClient, TableName: string): Promise<void> {
  await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName })
}

async function enableTtl (client: DynamoDBClient, TableName: string, AttributeName: string): Promise<void> {
  const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName }))
  if (TimeToLiveDescription?.TimeToLiveStatus === 'ENABLED' || TimeToLiveDescription?.TimeToLiveStatus === 'ENABLING') return
  try {
    await client.send(new UpdateTimeToLiveCommand({ TableName, TimeToLiveSpecification: { AttributeName, Enabled: true } }))
  } catch (err) {
    // Another replica enabled it between our look and our update.
    if ((err as { name?: string }).name !== 'ValidationException') throw err
  }
}

/**
 * DynamoDB adds one GSI per UpdateTable, and limits how many it builds at once: each missing index is asked
 * for (again while DynamoDB says it is busy) and waited for until ACTIVE, for up to 10 minutes.
 */
async function addMissingIndexes (client: DynamoDBClient, table: TableSpec, present: Set<string | undefined>, result: EnsureResult): Promise<void> {
  for (const index of table.GlobalSecondaryIndexes ?? []) {
    if (present.has(index.IndexName)) continue
    const deadline = Date.now() + 600_000
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: table.TableName }))
      const status = Table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === index.IndexName)?.IndexStatus
      if (status === 'ACTIVE') break
      if (Date.now() > deadline) throw new Error(`index ${String(index.IndexName)} of ${table.TableName} is not active after 10 minutes (${status ?? 'not created'})`)
      if (status === undefined) {
        try {
          await client.send(new UpdateTableCommand({ TableName: table.TableName, AttributeDefinitions: table.AttributeDefinitions, GlobalSecondaryIndexUpdates: [{ Create: index }] }))
        } catch (err) {
          // Busy (another index or table is being built, maybe by another replica): ask again shortly.
          const name = (err as { name?: string }).name
          if (name !== 'LimitExceededException' && name !== 'ResourceInUseException') throw err
        }
      }
      await sleep(status === undefined ? 200 : 1000)
    }
    ;(result.indexesAdded ??= []).push(`${table.TableName}/${String(index.IndexName)}`)
  }
}
