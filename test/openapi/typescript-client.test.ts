import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CLIENT_TYPES_PATH, generateClientTypes } from '../../scripts/openapi-document.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const EXAMPLE = fileURLToPath(new URL('../../examples/typescript-client/', import.meta.url))

t.test('examples/typescript-client/verso-api.ts is what openapi-typescript makes of the committed document (npm run openapi)', async (t) => {
  t.equal(readFileSync(CLIENT_TYPES_PATH, 'utf8'), await generateClientTypes())
})

t.test('the example type-checks under strict', async (t) => {
  const result = await run(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', `${EXAMPLE}tsconfig.json`], { cwd: ROOT })
    .then(() => ({ code: 0, stdout: '' }), (err: { code?: number, stdout?: string }) => ({ code: err.code ?? 1, stdout: err.stdout ?? '' }))
  t.equal(result.stdout, '', 'no type errors')
  t.equal(result.code, 0)
})
