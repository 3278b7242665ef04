import t from 'tap'
import { PassThrough } from 'node:stream'
import { Book } from '../../src/models/book.js'
import { parseTimestampMicros } from '../../src/models/entity.js'
import { verifyModel } from '../../scripts/verify.js'
import { setup, json, etag, type TestContext } from '../support/helper.js'
import { interopModels, RococoBook } from './models.js'
import { RococoRepository, type Instance, type SaveSteps } from './rococo.js'

// verso and Rococo writing the same book on the same version, once with each of Rococo's two save paths (see the
// top of ./rococo.ts). The documented adapter locks as verso does: one of the two writes fails and the chain stays
// one. The published main branch does not: both succeed, verso's update is lost, and the chain forks, which verso
// cannot prevent but finds (GET …/integrity, Verso-Chain on history and as_of, npm run verify).

/** The Rococo service's user_id. */
const WRITER = '5f0c1e2d3b4a49788a6b5c4d3e2f1a0b'
const BOOK = { title: 'The Left Hand of Darkness', author: 'Ursula K. Le Guin' }

type Answer = Record<string, any>

const rococoOf = (ctx: TestContext, savePath: 'documented' | 'published', clock?: () => number): RococoRepository =>
  new RococoRepository(ctx.client, RococoBook, { prefix: ctx.prefix, userId: WRITER, savePath, ...(clock === undefined ? {} : { clock }) })

async function create (ctx: TestContext): Promise<Answer> {
  const res = await ctx.app.inject({ method: 'POST', url: '/book', payload: BOOK })
  if (res.statusCode !== 201) throw new Error(`create: ${res.statusCode} ${res.body}`)
  return json(res)
}

/** verso's update of `base`: status reading. */
const versoUpdate = async (ctx: TestContext, id: string, base: string): Promise<{ statusCode: number, body: Answer }> => {
  const res = await ctx.app.inject({ method: 'PATCH', url: `/book/${id}`, headers: { 'if-match': etag(base), 'content-type': 'application/merge-patch+json' }, payload: { status: 'reading' } })
  return { statusCode: res.statusCode, body: json(res) }
}

/** Rococo's update of the instance it loaded: rating 4. */
async function rococoUpdate (rococo: RococoRepository, instance: Instance, steps?: SaveSteps): Promise<Instance> {
  instance.rating = 4
  return await rococo.save(instance, steps)
}

const loaded = async (rococo: RococoRepository, id: string): Promise<Instance> => {
  const found = await rococo.getOne(id)
  if (found === undefined) throw new Error(`Rococo cannot load ${id}`)
  return found.instance
}
const integrityOf = async (ctx: TestContext, id: string): Promise<Answer> => json(await ctx.app.inject({ method: 'GET', url: `/book/${id}/integrity` }))
const ref = (v: Answer): Answer => ({ version: v.version, changed_on: v.changed_on, changed_by_id: v.changed_by_id })
/** One second after a changed_on, as Python's clock would have it: C is later than B whatever the clocks say. */
const secondAfter = (changedOn: string): () => number => () => parseTimestampMicros(changedOn)! + 1_000_000

t.test('published main branch, Rococo saving a copy of A after verso wrote B on A: both succeed, A forks, and verso shows it', async (t) => {
  const ctx = await setup(t, { models: interopModels })
  const a = await create(ctx)
  const id = String(a.entity_id)
  const instance = await loaded(rococoOf(ctx, 'published'), id)
  const b = await versoUpdate(ctx, id, a.version)
  t.equal(b.statusCode, 200, 'verso: 200')
  const c = await rococoUpdate(rococoOf(ctx, 'published', secondAfter(b.body.changed_on)), instance)
  t.equal(c.previous_version, a.version, 'Rococo: saved, on top of A, no error')

  const current = json(await ctx.app.inject({ method: 'GET', url: `/book/${id}` }))
  t.match(current, { version: c.version, rating: 4, status: 'to_read' }, 'verso\'s update is lost: C carries Rococo\'s change and not verso\'s')

  t.same(await integrityOf(ctx, id), {
    linear: false,
    current_version: c.version,
    versions: 3,
    forks: [{ parent: ref(a), children: [ref(b.body), ref(c)] }],
    gaps: []
  }, '/integrity: A has two children, verso\'s B and Rococo\'s C')

  const versions = await ctx.app.inject({ method: 'GET', url: `/book/${id}/versions` })
  t.equal(versions.headers['verso-chain'], 'forked', '/versions says the page is no chain')
  t.same(json(versions).items.map((v: Answer) => v.version), [c.version, b.body.version, a.version])
  const asOf = await ctx.app.inject({ method: 'GET', url: `/book/${id}`, query: { as_of: String(b.body.changed_on) } })
  t.equal(json(asOf).version, b.body.version, 'as_of at B\'s time: B, the stored version then')
  t.equal(asOf.headers['verso-chain'], 'forked', 'flagged as on a fork')

  const verified = await verifyModel({ client: ctx.client, prefix: ctx.prefix, model: Book, segments: 2, concurrency: 2, progress: devNull() })
  t.same(verified.listed.map((broken) => broken.entity_id), [id], 'npm run verify finds it')
  t.equal(verified.broken, 1)
})

t.test('published main branch, verso committing between Rococo\'s read and its puts: B is lost without a trace in the tables', async (t) => {
  const ctx = await setup(t, { models: interopModels })
  const a = await create(ctx)
  const id = String(a.entity_id)
  const instance = await loaded(rococoOf(ctx, 'published'), id)
  let b: Answer = {}
  const c = await rococoUpdate(rococoOf(ctx, 'published'), instance, {
    afterRead: async () => { b = (await versoUpdate(ctx, id, a.version)).body }
  })
  t.equal(b.previous_version, a.version, 'verso: 200, B on A')
  t.equal(c.previous_version, a.version, 'Rococo: saved C on A')
  // Rococo copied A (what it read) into the audit table over verso's copy of A, and C over B.
  t.same((await ctx.audit(Book, id)).map((v) => v.version), [a.version], 'B is in neither table')
  t.same(await integrityOf(ctx, id), { linear: true, current_version: c.version, versions: 2, forks: [], gaps: [] }, 'so the chain C → A is linear: this loss cannot be seen in the tables')
  t.same((await ctx.events(id)).map((e) => e.data.version), [a.version, b.version], 'only verso\'s change event still records B')
})

t.test('unscripted races against the published save: each ends in a fork, a loss without trace, or verso refused; Rococo\'s version always wins', async (t) => {
  const ctx = await setup(t, { models: interopModels })
  const outcomes: Record<string, number> = {}
  for (let trial = 0; trial < 12; trial++) {
    const a = await create(ctx)
    const id = String(a.entity_id)
    const instance = await loaded(rococoOf(ctx, 'published'), id)
    const [verso, rococo] = await Promise.allSettled([versoUpdate(ctx, id, a.version), rococoUpdate(rococoOf(ctx, 'published'), instance)])
    const report = await integrityOf(ctx, id)
    const current = json(await ctx.app.inject({ method: 'GET', url: `/book/${id}` }))
    if (rococo.status === 'rejected') {
      // A plain put into an item a transaction is writing can be refused (TransactionConflict); PynamoDB raises too.
      t.equal(report.linear, true, `trial ${trial}: Rococo's save failed, the chain is linear`)
      outcomes['Rococo failed'] = (outcomes['Rococo failed'] ?? 0) + 1
      continue
    }
    t.equal(current.version, rococo.value.version, `trial ${trial}: Rococo's version is current`)
    t.equal(current.status, 'to_read', `trial ${trial}: verso's change is not in it`)
    const answered = verso.status === 'fulfilled' ? verso.value.statusCode : 0
    let outcome: string
    if (answered === 200) {
      const b = verso.status === 'fulfilled' ? verso.value.body.version : undefined
      const inAudit = (await ctx.audit(Book, id)).some((v) => v.version === b)
      outcome = report.linear === false ? 'fork found' : 'lost without trace'
      if (report.linear === false) t.same(report.forks[0]?.parent.version, a.version, `trial ${trial}: the fork is at A`)
      else t.notOk(inAudit, `trial ${trial}: linear only because B is in no table`)
    } else {
      t.ok(answered === 409 || answered === 412, `trial ${trial}: verso refused (${answered})`)
      t.equal(report.linear, true, `trial ${trial}: and the chain is linear`)
      outcome = `verso ${answered}`
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
  }
  t.comment(`outcomes of 12 races: ${JSON.stringify(outcomes)}`)
})

t.test('documented adapter: the same races never fork; one writer fails', async (t) => {
  const ctx = await setup(t, { models: interopModels })
  // Scripted first: Rococo saving a copy of A after verso wrote B is refused, as verso refuses a stale If-Match.
  const a = await create(ctx)
  const instance = await loaded(rococoOf(ctx, 'documented'), String(a.entity_id))
  t.equal((await versoUpdate(ctx, String(a.entity_id), a.version)).statusCode, 200)
  await t.rejects(rococoUpdate(rococoOf(ctx, 'documented'), instance), { name: 'DynamoDbOptimisticLockError' })
  t.same((await integrityOf(ctx, String(a.entity_id))).linear, true)

  for (let trial = 0; trial < 8; trial++) {
    const base = await create(ctx)
    const id = String(base.entity_id)
    const copy = await loaded(rococoOf(ctx, 'documented'), id)
    const [verso, rococo] = await Promise.allSettled([versoUpdate(ctx, id, base.version), rococoUpdate(rococoOf(ctx, 'documented'), copy)])
    const succeeded = (verso.status === 'fulfilled' && verso.value.statusCode === 200 ? 1 : 0) + (rococo.status === 'fulfilled' ? 1 : 0)
    t.ok(succeeded <= 1, `trial ${trial}: at most one of the two writes succeeded`)
    const current = json(await ctx.app.inject({ method: 'GET', url: `/book/${id}` }))
    t.same(await integrityOf(ctx, id), { linear: true, current_version: current.version, versions: 1 + succeeded, forks: [], gaps: [] }, `trial ${trial}: one chain`)
  }
})

/** Progress nobody reads. */
const devNull = (): NodeJS.WritableStream => new PassThrough().resume()
