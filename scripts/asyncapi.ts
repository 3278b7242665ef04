/**
 * `npm run asyncapi`: writes the AsyncAPI document of the change events (served at /asyncapi.json) to
 * asyncapi/asyncapi.json. `--check` exits 1 when the committed file is stale (the test suite checks the same).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { ASYNCAPI_PATH, generateAsyncApi } from './asyncapi-document.js'

const text = generateAsyncApi()
if (process.argv.includes('--check')) {
  const stale = readFileSync(ASYNCAPI_PATH, 'utf8') !== text
  process.stdout.write(stale ? 'asyncapi/asyncapi.json is stale: run npm run asyncapi\n' : 'asyncapi/asyncapi.json is current\n')
  process.exit(stale ? 1 : 0)
}
writeFileSync(ASYNCAPI_PATH, text)
process.stdout.write(`wrote ${ASYNCAPI_PATH}\n`)
