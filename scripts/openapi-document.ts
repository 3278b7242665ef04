import { fileURLToPath } from 'node:url'
import { buildApp } from '../src/app.js'
import { createDynamoClient } from '../src/storage/client.js'

export const OPENAPI_PATH = fileURLToPath(new URL('../openapi/openapi.json', import.meta.url))

/** The document as the app generates it, pretty-printed. Building the app talks to no DynamoDB. */
export async function generateOpenApi (): Promise<string> {
  const dynamo = createDynamoClient({ endpoint: 'http://127.0.0.1:1' })
  const app = await buildApp({
    config: { TABLE_PREFIX: '', OUTBOX_SHARDS: 16, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1024 * 1024, REQUEST_TIMEOUT_MS: 30000 },
    dynamo,
    ownsClient: true
  })
  await app.ready()
  const text = JSON.stringify(app.swagger(), null, 2) + '\n'
  await app.close()
  return text
}
