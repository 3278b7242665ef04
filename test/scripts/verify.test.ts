import t from 'tap'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { PassThrough } from 'node:stream'
import { promisify } from 'node:util'
import { Person } from '../../src/models/person.js'
import { verifyModel } from '../../scripts/verify.js'
import { endpoint, etag, json, setup, type TestContext } from '../support/helper.js'

// npm run verify as an operator runs it: a child process on the run's DynamoDB Local, against a table whose
// chains verso wrote (exit 0) and one where another writer forked a chain (exit 1, the fork named).

const run = promisify(execFile)

interface Outcome { code: number, stdout: string, stderr: string }
async function verify (ctx: TestContext, ...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/verify.ts', ...args], {
      env: { ...process.env, DYNAMODB_ENDPOINT: endpoint(), TABLE_PREFIX: ctx.prefix },
      timeout: 60_000
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const failed = err as { code?: number, stdout?: string, stderr?: string }
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

async function people (ctx: TestContext, count: number, updates: number): Promise<Array<Record<string, any>>> {
  const created = []
  for (let i = 0; i < count; i++) {
    let person = json(await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: `P${i}`, last_name: 'Verify' } }))
    for (let u = 0; u < updates; u++) {
      person = json(await ctx.app.inject({ method: 'PATCH', url: `/person/${String(person.entity_id)}`, headers: { 'if-match': etag(person.version), 'content-type': 'application/merge-patch+json' }, payload: { age: u } }))
    }
    created.push(person)
  }
  return created
}

t.test('a table verso wrote: every chain linear, exit 0, progress on stderr', async (t) => {
  const ctx = await setup(t)
  await people(ctx, 6, 2)
  const out = await verify(ctx, 'person', '--segments', '3')
  t.equal(out.code, 0, 'exit 0')
  t.equal(out.stdout, 'person: 6 entities checked, 18 versions, 0 broken\n')
  t.match(out.stderr, /person: 6 of ~\d+ entities checked, 0 broken \(3\/3 segments done/, 'a final progress line')

  const json = await verify(ctx, 'Person', '--json')
  t.same(JSON.parse(json.stdout), { model: 'person', entities: 6, versions: 18, broken: 0, listed: [] }, '--json, the model by name')
})

t.test('a forked chain: exit 1, the entity and its fork named', async (t) => {
  const ctx = await setup(t)
  const [, second] = await people(ctx, 3, 1)
  const id = String(second!.entity_id)
  // A writer without the lock, holding the first version, saves on top of it: the current item goes to the
  // audit table and its own version, naming the first, replaces it.
  const { main, audit } = ctx.tables(Person)
  const { Item: current } = await ctx.client.send(new GetItemCommand({ TableName: main, Key: { entity_id: { S: id } } }))
  await ctx.client.send(new PutItemCommand({ TableName: audit, Item: current! }))
  const fork = randomUUID().replaceAll('-', '')
  await ctx.client.send(new PutItemCommand({ TableName: main, Item: { ...current!, version: { S: fork }, previous_version: { S: second!.previous_version }, changed_on: { S: '2030-01-01T00:00:00+00:00' } } }))

  const out = await verify(ctx, 'person')
  t.equal(out.code, 1, 'exit 1')
  const lines = out.stdout.trimEnd().split('\n')
  t.equal(lines[0], 'person: 3 entities checked, 7 versions, 1 broken')
  t.match(lines[1], new RegExp(`^${id}: fork at ${String(second!.previous_version)} \\(.+\\): ${String(second!.version)} \\(.+\\), ${fork} \\(2030-01-01T00:00:00\\+00:00 by 00000000000040008000000000000000\\) \\[current\\]$`))
  t.equal(lines.length, 2)
  const report = JSON.parse((await verify(ctx, 'person', '--json')).stdout)
  t.same(report.listed.map((b: any) => [b.entity_id, b.report.forks.length, b.report.gaps.length]), [[id, 1, 0]])
})

t.test('usage and unknown models exit 2', async (t) => {
  const ctx = await setup(t)
  const none = await verify(ctx)
  t.equal(none.code, 2)
  t.match(none.stderr, /usage: npm run verify -- <model>/)
  const unknown = await verify(ctx, 'nothing')
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /no model nothing: one of person, book/)
})

t.test('in process: many entities over several segments, each counted once; broken ones past the limit counted only', async (t) => {
  const ctx = await setup(t)
  await people(ctx, 25, 0)
  const progress = new PassThrough()
  let shown = ''
  progress.on('data', (chunk: Buffer) => { shown += chunk.toString() })
  const result = await verifyModel({ client: ctx.client, prefix: ctx.prefix, model: Person, segments: 7, concurrency: 2, progress, progressEveryMs: 0 })
  t.same(result, { model: 'person', entities: 25, versions: 25, broken: 0, listed: [] })
  t.equal(shown.trimEnd().split('\n').length, 26, 'with no pause asked for, a line per entity and the final one')
})
