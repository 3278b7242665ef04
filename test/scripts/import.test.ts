import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { importFile } from '../../scripts/import.js'
import { Person } from '../../src/models/person.js'
import { setup } from '../support/helper.js'

t.test('npm run import: streams a file to a listening app, reports progress, counts and failed lines', async (t) => {
  const ctx = await setup(t)
  const address = await ctx.app.listen({ host: '127.0.0.1', port: 0 })
  const file = join(mkdtempSync(join(tmpdir(), 'verso-import-')), 'people.ndjson')
  const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ first_name: `P${i + 1}`, last_name: 'Import' }))
  lines[4] = '{"first_name":"No last name"}'
  lines[20] = 'not json'
  writeFileSync(file, lines.join('\n') + '\n\n')
  const progress = new PassThrough()
  let shown = ''
  progress.on('data', (chunk: Buffer) => { shown += chunk.toString() })

  // Three requests of 10 lines: line numbers in the answers are the file's.
  const result = await importFile({ model: 'person', file, url: address, linesPerRequest: 10, progress })
  t.equal(result.created, 23)
  t.same(result.failed.map((f) => [f.line, f.status, f.problem.code]), [[5, 400, 'VERSO_VALIDATION_FAILED'], [21, 400, 'VERSO_MALFORMED_JSON']])
  t.equal((await ctx.scan(ctx.tables(Person).main)).length, 23)
  t.match(shown, /person: 26 lines sent, 25 answered/, 'progress on the given stream, one line per step when not a terminal')

  const missing = importFile({ model: 'nothing', file, url: address, linesPerRequest: 10, progress })
  await t.rejects(missing, /answered 404/)
})
