/**
 * `npm run openapi`: writes the OpenAPI document the app serves at /openapi.json to openapi/openapi.json.
 * `--check` exits 1 when the committed file is stale (the test suite checks the same).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { generateOpenApi, OPENAPI_PATH } from './openapi-document.js'

const text = await generateOpenApi()
if (process.argv.includes('--check')) {
  const stale = readFileSync(OPENAPI_PATH, 'utf8') !== text
  process.stdout.write(stale ? 'openapi/openapi.json is stale: run npm run openapi\n' : 'openapi/openapi.json is current\n')
  process.exit(stale ? 1 : 0)
}
writeFileSync(OPENAPI_PATH, text)
process.stdout.write(`wrote ${OPENAPI_PATH}\n`)
