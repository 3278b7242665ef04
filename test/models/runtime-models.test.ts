import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashApiKey } from '../../src/auth/api-keys.js'
import { loadModels } from '../../src/models/load-models.js'
import { etag, json, setup } from '../support/helper.js'

// A model declared in a JSON file only: served like the built-ins with no TypeScript change.

const INVOICE = { number: 'INV-0001', customer: 'Acme Ltd', total: 99.5, lines: [{ item: 'Tea', amount: 99.5 }], billing_address: { city: 'Leeds' } }

function modelsDir (t: Test, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'verso-models-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  cpSync('examples/models/invoice.json', join(dir, 'invoice.json'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

t.test('a model file is served end to end: create, update, history, index query, event, /_models, OpenAPI', async (t) => {
  const models = loadModels(modelsDir(t))
  const invoice = models.find((m) => m.name === 'Invoice')
  if (invoice === undefined) throw new Error('Invoice not loaded')
  const ctx = await setup(t, { models })
  const { app } = ctx

  const created = await app.inject({ method: 'POST', url: '/invoice', payload: INVOICE })
  t.equal(created.statusCode, 201)
  const first = json(created)
  t.match(first, { ...INVOICE, currency: 'EUR', paid: false, active: true }, 'defaults of the file are filled in')
  const [stored] = await ctx.scanRaw(ctx.tables(invoice).main)
  t.same(stored?.billing_address, { S: '{"city":"Leeds"}' }, 'a declared object is JSON text in S, as PynamoDB stores it')
  t.same(stored?.total, { N: '99.5' })

  const bad = await app.inject({ method: 'POST', url: '/invoice', payload: { ...INVOICE, number: 'nope', extra: 1 } })
  t.equal(bad.statusCode, 400, 'the file\'s schema validates requests')
  t.same(json(bad).errors.map((e: { path: string }) => e.path).sort(), ['/body/extra', '/body/number'])

  const patched = await app.inject({
    method: 'PATCH',
    url: `/invoice/${String(first.entity_id)}`,
    headers: { 'if-match': etag(first.version), 'content-type': 'application/merge-patch+json' },
    payload: { paid: true }
  })
  t.equal(patched.statusCode, 200)
  t.equal(json(patched).paid, true)

  const history = json(await app.inject({ method: 'GET', url: `/invoice/${String(first.entity_id)}/versions` }))
  t.same(history.items.map((v: { version: string }) => v.version), [json(patched).version, first.version], 'history, newest first')
  t.equal((await ctx.audit(invoice, String(first.entity_id))).length, 1, 'the replaced version is in the audit table')

  await app.inject({ method: 'POST', url: '/invoice', payload: { ...INVOICE, number: 'INV-0002', customer: 'Other plc' } })
  const listed = await app.inject({ method: 'GET', url: '/invoice?customer=Acme%20Ltd&number=exists.true' })
  t.equal(listed.statusCode, 200)
  t.equal(listed.headers['x-query-plan'], 'index:by_customer', 'the file\'s index serves the query')
  t.same(json(listed).items.map((i: { number: string }) => i.number), ['INV-0001'])

  const events = await ctx.events(String(first.entity_id))
  t.same(events.map((e) => e.type), ['verso.invoice.created', 'verso.invoice.updated'])

  const listing = json(await app.inject({ method: 'GET', url: '/_models' }))
  t.same(listing.items.map((m: { name: string }) => m.name), ['Person', 'Book', 'Invoice'])
  t.match(listing.items[2], {
    path: 'invoice',
    versioned: true,
    allow_extra: false,
    indexes: [{ name: 'by_customer', hash: 'customer', range: 'number' }],
    tables: { main: `${ctx.prefix}invoice`, audit: `${ctx.prefix}invoice_audit` },
    schema: { type: 'object', required: ['number', 'customer', 'total'], properties: { total: { type: 'number', minimum: 0 } } }
  })

  const doc = json(await app.inject({ method: 'GET', url: '/openapi.json' }))
  t.ok(doc.paths['/invoice']?.post, 'POST /invoice is documented')
  t.ok(doc.paths['/invoice/{id}/versions'], 'and its history')
  t.ok(doc.components.schemas.Invoice, 'Invoice is a component')
  t.ok(doc.paths['/_models']?.get, 'GET /_models is documented')
})

t.test('/_models needs credentials but no model scope', async (t) => {
  const { app } = await setup(t, { config: { AUTH_MODE: 'api-key', AUTH_API_KEYS: `ops:${hashApiKey('k-ops-0123456789')}`, AUTH_SCOPES: true } })
  t.equal((await app.inject({ method: 'GET', url: '/_models' })).statusCode, 401)
  const ok = await app.inject({ method: 'GET', url: '/_models', headers: { 'x-api-key': 'k-ops-0123456789' } })
  t.equal(ok.statusCode, 200, 'a caller without scopes may list the models')
  t.equal((await app.inject({ method: 'GET', url: '/book', headers: { 'x-api-key': 'k-ops-0123456789' } })).statusCode, 403, 'but not read a model')
})

t.test('a broken model file stops the start of the service, npm run tables and npm run relay with one line', async (t) => {
  const dir = modelsDir(t, { 'broken.json': JSON.stringify({ name: 'Broken', schema: { properties: { total: { type: 'money' } } }, example: {} }) })
  const run = async (script: string): Promise<{ code: number | null, stderr: string }> => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, MODELS_DIR: dir, PORT: '0', AUTH_MODE: 'none', OUTBOX_PUBLISHER: 'log', CREATE_TABLES: 'false' },
      stdio: ['ignore', 'ignore', 'pipe']
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    return { code, stderr }
  }
  const reason = `invalid configuration: MODELS_DIR ${join(dir, 'broken.json')}#/schema/properties/total/type: must be one of string, number, integer, boolean, object, array (one type: null and type lists are not supported; leave an optional field out of required instead)\n`
  const [server, tables, relay] = await Promise.all(['src/bin/server.ts', 'src/bin/tables.ts', 'src/bin/relay.ts'].map(run))
  t.same(server, { code: 1, stderr: `verso: ${reason}` }, 'the service')
  t.same(tables, { code: 1, stderr: `verso tables: ${reason}` }, 'npm run tables')
  t.same(relay, { code: 1, stderr: `verso relay: ${reason}` }, 'npm run relay')
})
