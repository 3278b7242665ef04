import { fileURLToPath } from 'node:url'
import { buildApp } from '../src/app.js'
import { PRODUCTION_AUTH } from '../src/auth/openapi.js'
import { ConfigSchema } from '../src/config/config.js'
import { createDynamoClient } from '../src/storage/client.js'

export const OPENAPI_PATH = fileURLToPath(new URL('../openapi/openapi.json', import.meta.url))

const defaultOf = (key: keyof typeof ConfigSchema.properties): number => Number((ConfigSchema.properties[key] as { default?: unknown }).default)

/**
 * The document of a production verso, pretty-printed: the configuration's defaults, authentication on (jwt or
 * api-key: production needs one, and neither is the default) and a local server. Building the app talks to no DynamoDB.
 */
export async function generateOpenApi (): Promise<string> {
  const dynamo = createDynamoClient({ endpoint: 'http://127.0.0.1:1' })
  const app = await buildApp({
    config: {
      TABLE_PREFIX: '',
      OUTBOX_SHARDS: 16,
      EVENT_SOURCE: '/verso',
      BODY_LIMIT_BYTES: defaultOf('BODY_LIMIT_BYTES'),
      REQUEST_TIMEOUT_MS: defaultOf('REQUEST_TIMEOUT_MS'),
      RATE_LIMIT_MAX: defaultOf('RATE_LIMIT_MAX'),
      MAX_EVENT_LOOP_DELAY_MS: defaultOf('MAX_EVENT_LOOP_DELAY_MS'),
      MAX_EVENT_LOOP_UTILIZATION: defaultOf('MAX_EVENT_LOOP_UTILIZATION')
    },
    dynamo,
    ownsClient: true,
    openapi: {
      auth: PRODUCTION_AUTH,
      servers: [{ url: 'http://localhost:3000', description: 'verso as `npm start` runs it (PORT 3000); a client sets its own base URL' }]
    }
  })
  await app.ready()
  const text = JSON.stringify(app.swagger(), null, 2) + '\n'
  await app.close()
  return text
}
