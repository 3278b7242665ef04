import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { buildApp } from '../src/app.js'
import { PRODUCTION_AUTH } from '../src/auth/openapi.js'
import { ConfigSchema } from '../src/config/config.js'
import { createDynamoClient } from '../src/storage/client.js'

export const OPENAPI_PATH = fileURLToPath(new URL('../openapi/openapi.json', import.meta.url))
/** The types of examples/typescript-client, made from the committed document. */
export const CLIENT_TYPES_PATH = fileURLToPath(new URL('../examples/typescript-client/verso-api.ts', import.meta.url))
const OPENAPI_TYPESCRIPT = fileURLToPath(new URL('../node_modules/openapi-typescript/bin/cli.js', import.meta.url))

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

/** What `npx openapi-typescript openapi/openapi.json -o verso-api.ts` writes, as a consumer would run it. */
export async function generateClientTypes (documentPath = OPENAPI_PATH): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'verso-client-'))
  try {
    const out = join(dir, 'verso-api.ts')
    await promisify(execFile)(process.execPath, [OPENAPI_TYPESCRIPT, documentPath, '-o', out])
    return await readFile(out, 'utf8')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
