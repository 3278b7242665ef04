import t from 'tap'
import { execFile } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { setup } from '../support/helper.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const WALKTHROUGH = fileURLToPath(new URL('../../examples/typescript-client/walkthrough.ts', import.meta.url))

t.test('the example walks through the API of a live verso and exits 0', async (t) => {
  const { app } = await setup(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const result = await run(process.execPath, ['--import', 'tsx', WALKTHROUGH], {
    cwd: ROOT,
    env: { ...process.env, VERSO_URL: `http://127.0.0.1:${port}` }
  }).then(({ stdout }) => ({ code: 0, stdout, stderr: '' }), (err: { code?: number, stdout?: string, stderr?: string }) => ({ code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }))
  t.equal(result.stderr, '', 'nothing on stderr')
  t.equal(result.code, 0, 'exit code 0')
  for (const step of [/^created [0-9a-f]{32} at version/m, /^GET with If-None-Match: 304/m, /^patched: age 37/m, /^stale PUT: 412 VERSO_PRECONDITION_FAILED/m,
    /^versions: (\w+, ){2}\w+$/m, /^diff from the first version: /m, /^restored the first version's fields: Ada Lovelace/m,
    /^transaction created Charles Babbage/m, /^transaction checked Ada/m, /^deleted; GET answers 404 VERSO_ENTITY_NOT_FOUND/m]) {
    t.match(result.stdout, step, `prints ${String(step)}`)
  }
})
