/**
 * Swagger UI in a real browser: headless Chromium (the system's, driven by playwright-core) opens /docs on a
 * listening verso, creates a Person with "Try it out", and the entity is then read through the API. It proves
 * the docs work under the security headers (helmet's policy on the API, swagger.ts's on the docs): any
 * Content-Security-Policy violation or page error fails the test. The screenshot lands in test/artifacts/.
 *
 * Skipped when no browser is installed (Debian: `apt-get install chromium`, or set CHROMIUM_PATH); with
 * REQUIRE_BROWSER=1 (CI sets it) a missing browser is a failure instead.
 */
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { json, setup } from '../support/helper.js'

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url))

interface InPage {
  scrollY: number
  reportViolation: (text: string) => void
  document: { addEventListener: (type: 'securitypolicyviolation', listener: (e: { violatedDirective: string, sourceFile: string }) => void) => void }
}

function browserSkip (): string | false {
  if (existsSync(executablePath)) return false
  const message = `no browser at ${executablePath} (install Debian's chromium: apt-get install -y chromium, or set CHROMIUM_PATH)`
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(`${message}. REQUIRE_BROWSER=1, so this is a failure`)
  return `${message}: skipped`
}

t.test('Swagger UI: "Try it out" creates a Person against the running service', { skip: browserSkip() }, async (t) => {
  const { app } = await setup(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })

  const browser: Browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } })
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(`console ${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (err) => { problems.push(`page error: ${err.message}`) })
  await page.exposeFunction('reportViolation', (text: string) => { problems.push(text) })
  await page.addInitScript(() => {
    // Runs in the page (no DOM types in this project's TypeScript settings).
    const page = globalThis as unknown as InPage
    page.document.addEventListener('securitypolicyviolation', (e) => { page.reportViolation(`CSP violation: ${e.violatedDirective} in ${e.sourceFile}`) })
  })

  const docs = await page.goto(`${base}/docs`)
  t.equal(docs?.status(), 200, '/docs answers 200')
  const operation = page.locator('#operations-Person-createPerson')
  await operation.waitFor({ state: 'visible', timeout: 30_000 })
  await operation.locator('.opblock-summary').first().click()
  await operation.getByRole('button', { name: 'Try it out' }).click()

  const fields = { first_name: 'Grace', last_name: 'Hopper', age: 85, metadata: { via: 'swagger-ui' } }
  const body = operation.locator('textarea.body-param__text')
  await body.fill(JSON.stringify(fields, null, 2))
  await operation.getByRole('button', { name: 'Execute' }).click()

  const response = operation.locator('.live-responses-table .response').first()
  await response.waitFor({ state: 'visible', timeout: 30_000 })
  const status = (await response.locator('.response-col_status').innerText()).trim()
  t.equal(status, '201', 'the page shows 201')
  const shown = JSON.parse(await response.locator('.response-col_description pre').first().innerText()) as Record<string, unknown>
  t.match(shown, { ...fields, active: true }, 'the page shows the created Person')
  t.match(shown.entity_id, /^[0-9a-f]{32}$/)

  mkdirSync(ARTIFACTS, { recursive: true })
  // From the operation's header down to the live response: the request sent and the 201 shown.
  const top = await operation.boundingBox()
  const bottom = await response.boundingBox()
  if (top !== null && bottom !== null) {
    // Bounding boxes are relative to the viewport, a full-page clip to the page.
    const scrollY = await page.evaluate(() => (globalThis as unknown as InPage).scrollY)
    const clip = { x: top.x, y: top.y + scrollY, width: top.width, height: bottom.y + bottom.height - top.y + 16 }
    await page.screenshot({ path: `${ARTIFACTS}swagger-ui-create-person.png`, fullPage: true, clip })
  } else {
    await page.screenshot({ path: `${ARTIFACTS}swagger-ui-create-person.png`, fullPage: true })
  }

  const read = await app.inject({ method: 'GET', url: `/person/${String(shown.entity_id)}` })
  t.equal(read.statusCode, 200, 'the entity exists')
  t.same(json(read), shown, 'as the page showed it')
  t.same(problems, [], 'no page errors and no Content-Security-Policy violations')
})
