/**
 * The history console in a real browser: headless Chromium (the system's, driven by playwright-core) on a
 * listening verso with CONSOLE_ENABLED. An entity gets several versions through the API; the console reaches
 * it from the model list, shows each version's action, compares two versions, restores an old one, and shows
 * the conflict of a restore someone else's write made stale. axe-core checks every page for accessibility.
 * Any Content-Security-Policy violation or page error fails the test. Screenshots land in test/artifacts/.
 *
 * Skipped without a browser (Debian: `apt-get install chromium`, or set CHROMIUM_PATH); with REQUIRE_BROWSER=1
 * (CI sets it) a missing browser is a failure instead. The console is built first (scripts/build-console.mjs),
 * so a fresh clone's `npm test` tests the current sources.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp } from '../../src/app.js'
import type { AuthConfig } from '../../src/auth/settings.js'
import { loadConfig } from '../../src/config/config.js'
import { CONSOLE_CSP } from '../../src/routes/console.js'
import { createDynamoClient } from '../../src/storage/client.js'
import { modelTables } from '../../src/storage/table-names.js'
import { Person } from '../../src/models/person.js'
import { formatTimestamp, parseTimestampMicros } from '../../src/models/entity.js'
import { ensureTables } from '../../src/storage/table-setup.js'
import { models } from '../../src/models/index.js'
import { endpoint, json } from '../support/helper.js'

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url))
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

function browserSkip (): string | false {
  if (existsSync(executablePath)) return false
  const message = `no browser at ${executablePath} (install Debian's chromium: apt-get install -y chromium, or set CHROMIUM_PATH)`
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(`${message}. REQUIRE_BROWSER=1, so this is a failure`)
  return `${message}: skipped`
}

await promisify(execFile)(process.execPath, ['scripts/build-console.mjs'], { cwd: ROOT, timeout: 60_000 })

type App = Awaited<ReturnType<typeof buildApp>>
/** A verso with tables of its own (a fresh prefix), the console on unless said otherwise. */
async function start (t: Test, config: AuthConfig & { CONSOLE_ENABLED?: boolean } = {}): Promise<App> {
  return (await startWithTables(t, config)).app
}

/** The same, with its DynamoDB client and tables, to write items as another writer would. */
async function startWithTables (t: Test, config: AuthConfig & { CONSOLE_ENABLED?: boolean } = {}): Promise<{ app: App, client: DynamoDBClient, prefix: string }> {
  const prefix = `t${randomBytes(4).toString('hex')}_`
  const client = createDynamoClient({ endpoint: endpoint() })
  await ensureTables(client, prefix, models)
  const app = await buildApp({
    config: { TABLE_PREFIX: prefix, OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1024 * 1024, REQUEST_TIMEOUT_MS: 30000, CONSOLE_ENABLED: true, ...config },
    dynamo: client,
    models
  })
  t.teardown(async () => {
    await app.close()
    client.destroy()
  })
  return { app, client, prefix }
}

interface Browsing { page: Page, problems: string[] }

interface InPage {
  reportViolation: (text: string) => void
  document: { addEventListener: (type: 'securitypolicyviolation', listener: (e: { violatedDirective: string, sourceFile: string }) => void) => void }
  axe: { run: (context: unknown, options: unknown) => Promise<{ violations: Array<{ id: string, impact: string | null, help: string, nodes: Array<{ target: unknown }> }> }> }
}

/** A page that records page errors, console errors and CSP violations (the 412 of a stale restore is expected). */
async function browse (t: Test): Promise<Browsing> {
  const browser: Browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  page.setDefaultTimeout(60_000) // a CI machine running other tests beside this one is slow
  const problems: string[] = []
  page.on('console', (message) => {
    const text = message.text()
    const expected = /Failed to load resource: the server responded with a status of (401|412)/.test(text)
    if ((message.type() === 'error' && !expected) || /Content Security Policy/i.test(text)) problems.push(`console ${message.type()}: ${text}`)
  })
  page.on('pageerror', (err) => { problems.push(`page error: ${err.message}`) })
  await page.exposeFunction('reportViolation', (text: string) => { problems.push(text) })
  await page.addInitScript(() => {
    const page = globalThis as unknown as InPage
    page.document.addEventListener('securitypolicyviolation', (e) => { page.reportViolation(`CSP violation: ${e.violatedDirective} in ${e.sourceFile}`) })
  })
  return { page, problems }
}

/** axe-core, evaluated through the DevTools protocol (the page's CSP allows no injected script): serious and critical violations. */
async function accessibility (page: Page): Promise<string[]> {
  await page.evaluate(AXE)
  const { violations } = await page.evaluate(async () => await (globalThis as unknown as InPage).axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ['violations'] }))
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${String(v.impact)}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`)
}

const etag = (version: unknown): string => `"${String(version)}"`
const actions = async (page: Page): Promise<string[]> => await page.locator('table.versions tbody tr .badge.action').allInnerTexts()

t.test('the console: model list → entity, timeline, comparison, restore, stale restore, deep link, as_of', { skip: browserSkip() }, async (t) => {
  const app = await start(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  // Five versions: created, updated (age), updated (last name and age), deleted, restored (undeletes v3's fields).
  const created = await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines' } } })
  const v1 = json(created)
  const id = String(v1.entity_id)
  const write = async (method: 'PATCH' | 'DELETE', version: unknown, payload?: object): Promise<Record<string, any>> => {
    const res = await app.inject({ method, url: `/person/${id}`, headers: { 'if-match': etag(version) }, ...(payload === undefined ? {} : { payload }) })
    t.equal(res.statusCode, 200, `${method} answers 200`)
    return json(res)
  }
  const v2 = await write('PATCH', v1.version, { age: 37 })
  const v3 = await write('PATCH', v2.version, { last_name: 'Byron', age: 38, metadata: { team: 'engines', city: 'London' } })
  const v4 = await write('DELETE', v3.version)
  const restored = await app.inject({ method: 'POST', url: `/person/${id}/versions/${String(v3.version)}/restore`, headers: { 'if-match': etag(v4.version) } })
  const v5 = json(restored)
  t.equal(restored.statusCode, 200)

  const { page, problems } = await browse(t)
  mkdirSync(ARTIFACTS, { recursive: true })
  const index = await page.goto(`${base}/console`)
  t.equal(index?.status(), 200, '/console answers 200')
  t.equal(index?.headers()['content-security-policy'], CONSOLE_CSP, "with the console's policy")
  await page.getByRole('link', { name: 'Person' }).click()
  await page.getByRole('heading', { level: 1, name: 'Person' }).waitFor()
  t.same(await accessibility(page), [], 'list page: no serious or critical accessibility violation')

  // Filter on the indexed field: the plan shown is the index's, and the entity is in the page.
  await page.getByRole('button', { name: 'Add a filter' }).click()
  await page.getByLabel('Field').selectOption('last_name')
  await page.getByLabel('Value').fill('Byron')
  await page.getByRole('button', { name: 'Search' }).click()
  await page.waitForURL(/last_name=eq\.Byron/)
  await page.locator('code.plan', { hasText: 'index:last_name' }).waitFor()
  await page.screenshot({ path: `${ARTIFACTS}console-list.png`, fullPage: true })
  await page.getByRole('link', { name: id }).click()
  await page.waitForURL(`${base}/console/person/${id}`)

  await page.locator('table.versions tbody tr').nth(4).waitFor()
  t.same(await actions(page), ['restored', 'deleted', 'updated', 'updated', 'created'], 'the timeline names each version, newest first')
  t.same(await page.locator('table.versions tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { version: string } }).dataset.version)),
    [v5, v4, v3, v2, v1].map((v) => v.version), 'every version, in order')
  t.match(await page.locator('.state').innerText(), /Byron/, 'the current state')

  // Compare v1 (A) with v3 (B): the fields the diff names are marked changed, the others not.
  const row = (version: unknown): ReturnType<Page['locator']> => page.locator(`table.versions tbody tr[data-version="${String(version)}"]`)
  await row(v1.version).getByRole('radio', { name: /Compare from/ }).check()
  await row(v3.version).getByRole('radio', { name: /Compare to/ }).check()
  await page.locator('table.diff').waitFor()
  t.match(page.url(), new RegExp(`a=${String(v1.version)}&b=${String(v3.version)}`), 'the URL names the versions compared')
  t.same(await page.locator('table.diff tr.changed').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { field: string } }).dataset.field)), ['last_name', 'age', 'metadata'], 'changed fields highlighted')
  t.equal(await page.locator('table.diff tr[data-field="first_name"]').getAttribute('class'), null, 'an unchanged field is not')
  t.match(await page.locator('table.diff tr[data-field="age"]').innerText(), /age\s*changed\s*36\s*38/, 'both values side by side')
  t.same(await accessibility(page), [], 'entity page with a comparison: no serious or critical accessibility violation')
  await page.screenshot({ path: `${ARTIFACTS}console-entity.png`, fullPage: true })

  // By keyboard: Enter on a Restore button opens the confirmation with the focus in it; Escape closes it unanswered
  // and gives the focus back.
  const restoreV1 = row(v1.version).getByRole('button', { name: /Restore/ })
  const dialog = page.getByRole('dialog')
  await restoreV1.focus()
  await page.keyboard.press('Enter')
  await dialog.waitFor()
  t.ok(await dialog.evaluate((d) => d.contains((d.ownerDocument as unknown as { activeElement: typeof d }).activeElement)), 'the focus is in the dialog')
  await page.keyboard.press('Escape')
  await dialog.waitFor({ state: 'detached' })
  t.ok(await restoreV1.evaluate((b) => b === (b.ownerDocument as unknown as { activeElement: typeof b }).activeElement), 'Escape closes it and the focus is back')

  // Restore v1: confirmed in a dialog, a sixth version appears, and the API has v1's fields.
  await restoreV1.click()
  await dialog.waitFor()
  t.same(await accessibility(page), [], 'restore dialog: no serious or critical accessibility violation')
  await dialog.getByRole('button', { name: /^Restore version/ }).click()
  await page.locator('.notice', { hasText: 'Restored version' }).waitFor()
  await page.locator('table.versions tbody tr').nth(5).waitFor()
  t.same(await actions(page), ['restored', 'restored', 'deleted', 'updated', 'updated', 'created'], 'the new version tops the timeline')
  t.match(await page.locator('table.versions tbody tr').first().innerText(), new RegExp(`same fields as\\s*…${String(v1.version).slice(-8)}`), 'told by its fields: those of the first version')
  const v6 = json(await app.inject({ method: 'GET', url: `/person/${id}` }))
  t.match(v6, { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines' }, previous_version: v5.version }, 'the API answers the restored fields')

  // Someone else writes after the page loaded: the restore is refused (412) and the page says so; nothing is written.
  const v7 = await write('PATCH', v6.version, { age: 40 })
  await row(v2.version).getByRole('button', { name: /Restore/ }).click()
  await dialog.getByRole('button', { name: /^Restore version/ }).click()
  const conflict = dialog.getByRole('alert')
  await conflict.waitFor()
  t.match(await conflict.innerText(), new RegExp(`Someone else wrote first[\\s\\S]*${String(v7.version)}[\\s\\S]*Nothing was restored`), 'the conflict is explained')
  await page.screenshot({ path: `${ARTIFACTS}console-conflict.png` })
  t.equal(json(await app.inject({ method: 'GET', url: `/person/${id}` })).version, v7.version, 'nothing was restored')
  await dialog.getByRole('button', { name: 'Reload the entity' }).click()
  await page.locator('table.versions tbody tr').nth(6).waitFor()
  t.equal((await actions(page))[0], 'updated', "after reloading, the other writer's version is on top")

  // A pasted deep link opens the same comparison; as_of shows the version current at an instant.
  const link = `${base}/console/person/${id}?a=${String(v2.version)}&b=${String(v3.version)}`
  await page.goto(link)
  await page.locator('table.diff').waitFor()
  t.same(await page.locator('table.diff tr.changed').count(), 3, 'the deep link shows the comparison')
  await page.getByLabel(/Point in time/).fill(String(v2.changed_on))
  await page.getByRole('button', { name: 'Show' }).click()
  await page.locator('.state', { hasText: 'As of' }).waitFor()
  t.match(await page.locator('.state').innerText(), new RegExp(`${String(v2.version)}[\\s\\S]*Lovelace[\\s\\S]*37`), 'as_of: the state then')
  t.match(page.url(), /as_of=/, 'the URL names the instant')

  t.same(problems, [], 'no page errors and no Content-Security-Policy violations')
})

t.test('a long history: 50 versions at a time, the rest on request', { skip: browserSkip() }, async (t) => {
  const app = await start(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  // 60 versions: v10 deletes, v11 restores; newest first, v11 is the last of the first page and v10 the first of the next.
  let state = json(await app.inject({ method: 'POST', url: '/book', payload: { title: 'Dune', author: 'Frank Herbert', rating: 1 } }))
  const id = String(state.entity_id)
  for (let n = 2; n <= 60; n++) {
    const headers = { 'if-match': etag(state.version) }
    const res = n === 10
      ? await app.inject({ method: 'DELETE', url: `/book/${id}`, headers })
      : n === 11
        ? await app.inject({ method: 'POST', url: `/book/${id}/versions/${String(state.previous_version)}/restore`, headers })
        : await app.inject({ method: 'PATCH', url: `/book/${id}`, headers, payload: { title: `Dune (${n})` } })
    t.equal(res.statusCode, 200)
    state = json(res)
  }
  const { page, problems } = await browse(t)
  await page.goto(`${base}/console/book/${id}`)
  const rows = page.locator('table.versions tbody tr')
  await page.getByText('50 versions shown').waitFor()
  t.equal(await rows.count(), 50, 'the first page')
  t.equal((await actions(page))[49], 'restored', 'the oldest shown is told from its predecessor, which is not shown')
  await page.getByRole('button', { name: 'Load older versions' }).click()
  await page.getByText('60 versions shown, the whole history').waitFor()
  const all = await actions(page)
  t.same([all[49], all[50], all[59]], ['restored', 'deleted', 'created'])
  t.equal(all.filter((a) => a === 'updated').length, 57)
  t.same(problems, [], 'no page errors and no Content-Security-Policy violations')
})

t.test('a forked history: the warning, the integrity check, the fork children marked', { skip: browserSkip() }, async (t) => {
  const { app, client, prefix } = await startWithTables(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const a = json(await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace', age: 36 } }))
  const id = String(a.entity_id)
  const b = json(await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(a.version) }, payload: { age: 37 } }))
  // A writer without the lock still holding A (test/routes/integrity.test.ts): it copies the current B into the
  // audit table and puts its own C, naming A, over it with plain PutItems. A now has two children.
  const { main, audit } = modelTables(prefix, Person)
  const { Item: current } = await client.send(new GetItemCommand({ TableName: main, Key: { entity_id: { S: id } } }))
  await client.send(new PutItemCommand({ TableName: audit, Item: current! }))
  const c = { version: randomUUID().replaceAll('-', ''), changed_by_id: '5f0c1e2d3b4a49788a6b5c4d3e2f1a0b' }
  const item = { entity_id: id, ...c, previous_version: String(a.version), changed_on: formatTimestamp(parseTimestampMicros(String(b.changed_on))! + 1000), first_name: 'Augusta', last_name: 'King' }
  await client.send(new PutItemCommand({ TableName: main, Item: { ...Object.fromEntries(Object.entries(item).map(([k, v]) => [k, { S: v }])), active: { BOOL: true } } }))

  const { page, problems } = await browse(t)
  await page.goto(`${base}/console/person/${id}`)
  const warning = page.getByRole('alert').filter({ hasText: 'not one chain' })
  await warning.waitFor()
  t.match(await warning.innerText(), /forks[\s\S]*Verso-Chain: forked/, 'the warning says how, in words')
  await page.locator('table.versions tbody tr').nth(2).waitFor()
  t.equal(await page.locator('table.versions .badge.fork').count(), 0, 'no row is marked before the check')

  await page.getByRole('button', { name: 'Check integrity' }).click()
  const report = page.locator('.chain-report')
  await report.waitFor()
  t.match(await report.innerText(), new RegExp(`1 fork, 0 gaps[\\s\\S]*…${String(a.version).slice(-8)}[\\s\\S]*2 versions written on it[\\s\\S]*…${String(b.version).slice(-8)}[\\s\\S]*replaced[\\s\\S]*…${c.version.slice(-8)} \\(${c.changed_by_id}[\\s\\S]*current`),
    'the fork: its parent, both children with who and when, which one is current')
  const marked = await page.locator('table.versions tbody tr:has(.badge.fork)').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { version: string } }).dataset.version))
  t.same(marked.sort(), [String(b.version), c.version].sort(), 'the timeline marks both children of the fork')
  t.match(await page.locator(`table.versions tbody tr[data-version="${c.version}"]`).innerText(), new RegExp(`fork of …${String(a.version).slice(-8)}`))
  t.same(await accessibility(page), [], 'entity page with the integrity report: no serious or critical accessibility violation')
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: `${ARTIFACTS}console-fork.png`, fullPage: true })
  t.same(problems, [], 'no page errors and no Content-Security-Policy violations')
})

t.test('AUTH_MODE=api-key: the console sends the key typed in, kept for the tab', { skip: browserSkip() }, async (t) => {
  const key = randomBytes(24).toString('base64url')
  const app = await start(t, { AUTH_MODE: 'api-key', AUTH_API_KEYS: `console:${createHash('sha256').update(key).digest('hex')}` })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const created = json(await app.inject({ method: 'POST', url: '/book', headers: { 'x-api-key': key }, payload: { title: 'Kindred', author: 'Octavia E. Butler' } }))

  const { page, problems } = await browse(t)
  const sent: string[] = []
  page.on('request', (request) => { if (new URL(request.url()).pathname === '/_models') sent.push(request.headers().authorization ?? '(none)') })
  await page.goto(`${base}/console`)
  await page.getByRole('alert').filter({ hasText: 'VERSO_AUTHENTICATION_REQUIRED' }).waitFor()
  t.pass('without credentials the problem is shown')

  await page.getByRole('button', { name: 'Credentials' }).click()
  await page.getByLabel('API key or bearer token').fill(key)
  await page.getByRole('button', { name: 'Use for this tab' }).click()
  await page.getByRole('link', { name: 'Book' }).click()
  await page.getByRole('link', { name: String(created.entity_id) }).click()
  await page.locator('table.versions tbody tr').first().waitFor()
  t.match(await page.locator('table.versions tbody tr').first().innerText(), /created[\s\S]*console/, 'the timeline names the key id as the writer')
  t.same(sent, ['(none)', `Bearer ${key}`], 'the key goes as Authorization: Bearer once typed in')
  t.equal(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length), 1, 'kept in sessionStorage')
  await page.reload()
  await page.locator('table.versions tbody tr').first().waitFor()
  t.pass('a reload of the tab keeps it')
  t.same(problems, [], 'no page errors and no Content-Security-Policy violations')
})

t.test('serving: caching headers, CSP, deep-link paths, unknown assets', async (t) => {
  const app = await start(t)
  const page = await app.inject({ method: 'GET', url: '/console' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is revalidated')
  t.equal(page.headers['content-security-policy'], CONSOLE_CSP)
  t.notMatch(page.body, /<script>|<style|style=/, 'nothing inline')
  const revalidated = await app.inject({ method: 'GET', url: '/console', headers: { 'if-none-match': String(page.headers.etag) } })
  t.equal(revalidated.statusCode, 304, 'If-None-Match: 304')
  const deep = await app.inject({ method: 'GET', url: '/console/person/0123456789abcdef0123456789abcdef?a=x&b=y' })
  t.equal(deep.statusCode, 200, 'a deep link gets the page')
  t.equal(deep.body, page.body)

  const assets = [...page.body.matchAll(/(?:src|href)="(\/console\/_assets\/[^"]+)"/g)].map((m) => m[1] as string)
  t.equal(assets.length, 2, 'a script and a stylesheet')
  for (const url of assets) {
    const asset = await app.inject({ method: 'GET', url })
    t.equal(asset.statusCode, 200, url)
    t.match(url, /-[A-Z0-9]{8}\.(js|css)$/, 'named by its hash')
    t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
    t.match(asset.headers['content-type'], url.endsWith('.js') ? /^text\/javascript/ : /^text\/css/)
  }
  const missing = await app.inject({ method: 'GET', url: '/console/_assets/main-NOTBUILT.js' })
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['content-type'], /^application\/problem\+json/)
})

t.test('CONSOLE_ENABLED: off → /console is 404; on by default only in the embedded mode', async (t) => {
  const app = await start(t, { CONSOLE_ENABLED: false })
  for (const url of ['/console', '/console/person', '/console/_assets/main.js']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 404, `${url}: 404`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
  }
  t.equal(loadConfig({}).CONSOLE_ENABLED, true, 'embedded mode: on')
  t.equal(loadConfig({ CONSOLE_ENABLED: 'false' }).CONSOLE_ENABLED, false, 'embedded mode, turned off')
  const outside = { DYNAMODB_ENDPOINT: 'http://localhost:8000', AUTH_MODE: 'none', RELAY_ENABLED: 'false' }
  t.equal(loadConfig(outside).CONSOLE_ENABLED, false, 'elsewhere: off')
  t.equal(loadConfig({ ...outside, CONSOLE_ENABLED: 'true' }).CONSOLE_ENABLED, true, 'elsewhere, turned on')
})
