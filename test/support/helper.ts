import { randomBytes } from 'node:crypto'
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { QueryCommand } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { Test } from 'tap'
import { buildApp, type LimitSettings } from '../../src/app.js'
import type { AuthConfig } from '../../src/auth/settings.js'
import type { Model } from '../../src/models/define.js'
import { models as builtInModels } from '../../src/models/index.js'
import { countCalls, createDynamoClient } from '../../src/storage/client.js'
import { scanAll } from '../../src/storage/scan.js'
import { modelTables, outboxTable } from '../../src/storage/table-names.js'
import { ensureTables } from '../../src/storage/table-setup.js'

export const endpoint = (): string => {
  const value = process.env.DYNAMODB_ENDPOINT
  if (value === undefined || value === '') throw new Error('DYNAMODB_ENDPOINT is not set: run the tests with `npm test`, which starts DynamoDB Local')
  return value
}

export type Row = Record<string, AttributeValue>

export interface TestContext {
  app: FastifyInstance
  prefix: string
  client: ReturnType<typeof createDynamoClient>
  /** Every raw item of a table (main, audit, outbox), unmarshalled as stored. */
  scan: (table: string) => Promise<Array<Record<string, unknown>>>
  scanRaw: (table: string) => Promise<Row[]>
  tables: (model: Model) => { main: string, audit: string }
  outbox: string
  /** Outbox events (parsed CloudEvents) of one entity, oldest first. */
  events: (entityId: string) => Promise<Array<Record<string, any>>>
  /** Audit items of one entity, by version. */
  audit: (model: Model, entityId: string) => Promise<Array<Record<string, unknown>>>
}

/** An app on the run's DynamoDB Local, with tables of its own (a fresh prefix per call). */
export async function setup (t: Test, options: { models?: readonly Model[], onEventCommitted?: (shard: number) => void, metrics?: boolean, logger?: FastifyServerOptions['logger'], config?: { SCAN_POLICY?: 'allow' | 'deny', CURSOR_SECRET?: string } & AuthConfig & LimitSettings } = {}): Promise<TestContext> {
  const models = options.models ?? builtInModels
  const prefix = `t${randomBytes(4).toString('hex')}_`
  const client = createDynamoClient({ endpoint: endpoint() })
  await ensureTables(client, prefix, models)
  const app = await buildApp({
    config: { TABLE_PREFIX: prefix, OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1024 * 1024, REQUEST_TIMEOUT_MS: 30000, ...options.config },
    dynamo: client,
    models,
    ...(options.onEventCommitted === undefined ? {} : { onEventCommitted: options.onEventCommitted }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    ...(options.logger === undefined ? {} : { logger: options.logger })
  })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    client.destroy()
  })
  const scanRaw = async (table: string): Promise<Row[]> => await scanAll(client, table)
  const scan = async (table: string): Promise<Array<Record<string, unknown>>> => (await scanRaw(table)).map((r) => unmarshall(r))
  const outbox = outboxTable(prefix)
  return {
    app,
    prefix,
    client,
    scan,
    scanRaw,
    tables: (model) => modelTables(prefix, model),
    outbox,
    events: async (entityId) => (await scan(outbox))
      .filter((row) => row.entity_id === entityId)
      .sort((a, b) => String(a.sk).localeCompare(String(b.sk)))
      .map((row) => JSON.parse(String(row.event)) as Record<string, any>),
    audit: async (model, entityId) => {
      const { Items } = await client.send(new QueryCommand({
        TableName: modelTables(prefix, model).audit,
        KeyConditionExpression: 'entity_id = :id',
        ExpressionAttributeValues: { ':id': { S: entityId } },
        ConsistentRead: true
      }))
      return (Items ?? []).map((i) => unmarshall(i))
    }
  }
}

export const json = (res: { body: string }): any => JSON.parse(res.body)
export const etag = (version: unknown): string => `"${String(version)}"`

export { thrown } from './thrown.js'

/** `measure(op)`: the DynamoDB calls (by command) the client made while `op` ran — for the round-trip contract. */
export function callsOf (client: ReturnType<typeof createDynamoClient>): (operation: () => Promise<unknown>) => Promise<Record<string, number>> {
  const calls = countCalls(client)
  return async (operation) => {
    for (const key of Object.keys(calls)) delete calls[key]
    await operation()
    return { ...calls }
  }
}
