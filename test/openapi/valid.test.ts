import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Validator } from '@seriousme/openapi-schema-validator'
import { buildApp } from '../../src/app.js'
import { hashApiKey } from '../../src/auth/api-keys.js'
import type { AuthConfig } from '../../src/auth/settings.js'
import { createDynamoClient } from '../../src/storage/client.js'
import { OPENAPI_PATH } from '../../scripts/openapi-document.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const REDOCLY = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js')

/** The document a verso with this configuration serves (building the app talks to no DynamoDB). */
async function served (config: AuthConfig = {}): Promise<Record<string, any>> {
  const app = await buildApp({
    config: { TABLE_PREFIX: '', OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1 << 20, REQUEST_TIMEOUT_MS: 30000, ...config },
    dynamo: createDynamoClient({ endpoint: 'http://127.0.0.1:1' }),
    ownsClient: true
  })
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  await app.close()
  return JSON.parse(res.body)
}

/** `redocly lint` with the project's redocly.yaml: its problems, as its JSON report lists them. */
async function lint (t: Test, doc: Record<string, any>): Promise<Array<{ ruleId: string, severity: string, message: string }>> {
  const dir = mkdtempSync(join(tmpdir(), 'verso-openapi-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'openapi.json')
  writeFileSync(file, JSON.stringify(doc))
  const run = promisify(execFile)
  const result = await run(process.execPath, [REDOCLY, 'lint', file, '--format=json', `--config=${join(ROOT, 'redocly.yaml')}`], {
    cwd: ROOT,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    maxBuffer: 64 << 20
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }))
  const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as { problems: Array<{ ruleId: string, severity: string, message: string }> }
  return report.problems
}

async function assertValid (t: Test, doc: Record<string, any>): Promise<void> {
  const validator = new Validator()
  const result = await validator.validate(doc)
  t.equal(validator.version, '3.1', 'an OpenAPI 3.1 document')
  t.same(result.errors ?? [], [], 'no errors from the OpenAPI 3.1 schema validator')
  t.ok(result.valid, 'valid')
  t.same((await lint(t, doc)).map((p) => `${p.severity} ${p.ruleId}: ${p.message}`), [], 'no errors or warnings from redocly lint (recommended rules, redocly.yaml)')
}

t.test('the committed document is valid OpenAPI 3.1 and lints clean', async (t) => {
  await assertValid(t, JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')))
})

t.test('the document served with AUTH_MODE=none is valid, lints clean and asks for no credentials', async (t) => {
  const doc = await served()
  await assertValid(t, doc)
  t.same(doc.security, [], 'no security requirement')
  t.notOk(doc.components.securitySchemes, 'no security schemes')
  t.notOk(doc.paths['/person'].get.responses['401'], 'no 401')
  t.same(doc.servers, [{ url: '/', description: 'This verso (the origin the document was fetched from)' }])
})

t.test('the served document names only the configured scheme', async (t) => {
  const jwt = await served({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'a-shared-test-secret-of-at-least-32-chars' })
  t.same(jwt.security, [{ bearerAuth: [] }])
  t.equal(jwt.components.securitySchemes.bearerAuth.bearerFormat, 'JWT')
  t.ok(jwt.paths['/person'].get.responses['401'], '401 on a secured operation')
  t.notOk(jwt.paths['/person'].get.responses['403'], 'no 403 without AUTH_SCOPES')
  t.notOk(jwt.paths['/health/live'].get.responses['401'], 'no 401 on an open one')
  const keys = await served({ AUTH_MODE: 'api-key', AUTH_API_KEYS: `ops:${hashApiKey('k-0123456789abcdef')}`, AUTH_SCOPES: true })
  t.same(keys.security, [{ bearerAuth: [] }, { apiKeyAuth: [] }], 'an API key as a bearer token or in X-API-Key')
  t.ok(keys.paths['/person'].get.responses['403'], '403 with AUTH_SCOPES')
  const committed = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'))
  t.same(committed.security, [{ bearerAuth: [] }, { apiKeyAuth: [] }], 'the committed document: production, jwt or api-key')
})
