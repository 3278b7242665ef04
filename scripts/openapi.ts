/**
 * `npm run openapi`: writes the OpenAPI document of a production verso to openapi/openapi.json, and the types
 * openapi-typescript makes of it to examples/typescript-client/verso-api.ts. `--check` exits 1 when either
 * committed file is stale (the test suite checks the same).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { CLIENT_TYPES_PATH, generateClientTypes, generateOpenApi, OPENAPI_PATH } from './openapi-document.js'

const text = await generateOpenApi()
if (process.argv.includes('--check')) {
  const stale = readFileSync(OPENAPI_PATH, 'utf8') !== text || readFileSync(CLIENT_TYPES_PATH, 'utf8') !== await generateClientTypes()
  process.stdout.write(stale ? 'openapi/openapi.json or the client types are stale: run npm run openapi\n' : 'openapi/openapi.json and the client types are current\n')
  process.exit(stale ? 1 : 0)
}
writeFileSync(OPENAPI_PATH, text)
writeFileSync(CLIENT_TYPES_PATH, await generateClientTypes())
process.stdout.write(`wrote ${OPENAPI_PATH} and ${CLIENT_TYPES_PATH}\n`)
