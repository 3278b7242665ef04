import t from 'tap'
import { Book } from '../../src/models/book.js'
import { setup } from '../support/helper.js'
import { newId } from './support.js'

const NDJSON = { 'content-type': 'application/x-ndjson' }
const parseAnswer = (body: string): Array<Record<string, any>> => body.trim().split('\n').map((l) => JSON.parse(l))

t.test('5,000 lines with 10 bad ones: 4,990 created, the 10 reported by line number', async (t) => {
  const ctx = await setup(t)
  const taken = newId()
  await ctx.app.inject({ method: 'POST', url: '/book', payload: { entity_id: taken, title: 'Taken', author: 'A' } })
  const bad = new Map<number, [string, number, string]>([
    [7, ['{"title":"No author"}', 400, 'VERSO_VALIDATION_FAILED']],
    [100, ['{"title":', 400, 'VERSO_MALFORMED_JSON']],
    [999, ['{"title":"T","author":"A","rating":9}', 400, 'VERSO_VALIDATION_FAILED']],
    [1000, ['{"title":"T","author":"A","version":"0"}', 400, 'VERSO_SERVER_MANAGED_FIELD']],
    [2001, ['[1,2]', 400, 'VERSO_VALIDATION_FAILED']],
    [2500, ['{"title":"T","author":"A","colour":"red"}', 400, 'VERSO_VALIDATION_FAILED']],
    [3333, [`{"entity_id":"${taken}","title":"T","author":"A"}`, 409, 'VERSO_ALREADY_EXISTS']],
    [4000, ['{"title":"T","author":"A","__proto__":{"x":1}}', 400, 'VERSO_BAD_REQUEST']],
    [4998, ['{"entity_id":"not-an-id","title":"T","author":"A"}', 400, 'VERSO_VALIDATION_FAILED']],
    [5000, ['"just a string"', 400, 'VERSO_VALIDATION_FAILED']]
  ])
  const lines = Array.from({ length: 5000 }, (_, i) => bad.get(i + 1)?.[0] ?? JSON.stringify({ title: `Book ${i + 1}`, author: `Author ${i % 50}` }))
  const res = await ctx.app.inject({ method: 'POST', url: '/book/_bulk', headers: NDJSON, payload: lines.join('\n') + '\n' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/x-ndjson/)
  const answers = parseAnswer(res.body)
  const summary = answers.pop()
  t.same(summary, { summary: { lines: 5000, created: 4990, failed: 10, complete: true } })
  t.equal(answers.length, 5000, 'one answer per line')
  t.same(answers.map((a) => a.line).sort((a, b) => a - b), lines.map((_, i) => i + 1), 'every line answered once')
  const failed = answers.filter((a) => a.status !== 201).sort((a, b) => a.line - b.line)
  t.same(failed.map((a) => [a.line, a.status, a.problem.code]), [...bad.entries()].map(([line, [, status, code]]) => [line, status, code]))
  t.match(failed[0]?.problem, { type: 'urn:verso:problem:validation-failed', status: 400, errors: [{ path: '/body/author', message: 'is required' }] })
  const created = answers.filter((a) => a.status === 201)
  t.ok(created.every((a) => /^[0-9a-f]{32}$/.test(a.entity_id) && /^[0-9a-f]{32}$/.test(a.version)), 'created lines carry entity_id and version')
  t.equal((await ctx.scan(ctx.tables(Book).main)).length, 4991, '4,990 created (and the one that was there)')
  t.equal((await ctx.scan(ctx.outbox)).length, 4991, 'one event per created entity')
})

t.test('blank lines are counted, a too-long line is skipped, the content type is enforced', async (t) => {
  const ctx = await setup(t, { config: { BODY_MAX_FIELDS: 10 } })
  const long = JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024), author: 'A' })
  const body = `\n{"title":"One","author":"A"}\r\n\n${long}\n{"title":"Two","author":"A","status":"reading"}`
  const res = await ctx.app.inject({ method: 'POST', url: '/book/_bulk', headers: NDJSON, payload: body })
  const answers = parseAnswer(res.body).sort((a, b) => (a.line ?? 1e9) - (b.line ?? 1e9))
  t.same(answers.map((a) => [a.line, a.status, a.problem?.code]), [[2, 201, undefined], [4, 413, 'VERSO_LINE_TOO_LONG'], [5, 201, undefined], [undefined, undefined, undefined]])
  t.same(answers[3], { summary: { lines: 5, created: 2, failed: 1, complete: true } })
  const stored = await ctx.scan(ctx.tables(Book).main)
  t.same(stored.map((b) => b.status).sort(), ['reading', 'to_read'], 'defaults applied as on POST /book')

  const json = await ctx.app.inject({ method: 'POST', url: '/book/_bulk', payload: { title: 'T', author: 'A' } })
  t.equal(json.statusCode, 415)
  t.equal(JSON.parse(json.body).code, 'VERSO_UNSUPPORTED_MEDIA_TYPE')
  const other = await ctx.app.inject({ method: 'POST', url: '/book', headers: NDJSON, payload: '{"title":"T","author":"A"}' })
  t.equal(other.statusCode, 415, 'NDJSON is taken by the bulk routes only')
})

t.test('BULK_BODY_LIMIT_BYTES: 413 up front by Content-Length; a stream past it stops with complete false', async (t) => {
  const ctx = await setup(t, { config: { BULK_BODY_LIMIT_BYTES: 4096 } })
  const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ title: `B${i}`, author: 'A' })).join('\n')
  const declared = await ctx.app.inject({ method: 'POST', url: '/book/_bulk', headers: NDJSON, payload: lines })
  t.equal(declared.statusCode, 413)
  t.equal(JSON.parse(declared.body).code, 'VERSO_BODY_TOO_LARGE')
  t.equal((await ctx.scan(ctx.tables(Book).main)).length, 0, 'nothing read, nothing written')

  const { Readable } = await import('node:stream')
  const streamed = await ctx.app.inject({ method: 'POST', url: '/book/_bulk', headers: NDJSON, payload: Readable.from(lines.split('\n').map((l) => `${l}\n`)) })
  const answers = parseAnswer(streamed.body)
  const { summary } = answers.pop() ?? {}
  t.match(summary, { complete: false, problem: { code: 'VERSO_BODY_TOO_LARGE' } })
  t.ok(summary.created > 0 && summary.created < 200, `the lines within the limit were created (${String(summary.created)})`)
  t.equal((await ctx.scan(ctx.tables(Book).main)).length, summary.created)
})
