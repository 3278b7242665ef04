import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { applyPatch, type Operation } from 'rfc6902'
import { Person } from '../../src/models/person.js'
import { parseTimestampMicros } from '../../src/models/entity.js'
import { setup, json, etag } from '../support/helper.js'
import { assertProblem, createPerson, newId, SERVER_FIELDS } from './support.js'

// GET /{model}/{id}/versions/{v}/diff and POST /{model}/{id}/versions/{v}/restore (docs/history.md).

type Entity = Record<string, any>

const V7 = /^[0-9a-f]{12}7[0-9a-f]{19}$/
const PATCH_TYPE = /^application\/json-patch\+json/
const micros = (changedOn: unknown): number => parseTimestampMicros(String(changedOn)) ?? Number.NaN
const fieldsOf = (entity: Entity): Entity => Object.fromEntries(Object.entries(entity).filter(([key]) => !SERVER_FIELDS.includes(key)))
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

/** Ten versions whose fields differ in every way a JSON Patch can say: replaced, added, removed, nested. */
async function tenVersions (app: FastifyInstance): Promise<Entity[]> {
  const created = await createPerson(app, { first_name: 'Ada', last_name: 'Byron', age: 17, metadata: { team: 'poets', tags: ['a', 'b'], nested: { deep: 1 } } })
  const versions: Entity[] = [created]
  const id = String(created.entity_id)
  const writes: Array<{ method: 'PUT' | 'PATCH', payload: Entity }> = [
    { method: 'PATCH', payload: { last_name: 'King' } },
    { method: 'PATCH', payload: { age: 20, metadata: { tags: ['a', 'b', 'c'], nested: { deep: 2, wide: true } } } },
    { method: 'PUT', payload: { first_name: 'Augusta Ada', last_name: 'King' } },
    { method: 'PATCH', payload: { metadata: { team: 'engines' } } },
    { method: 'PATCH', payload: { age: 36, first_name: 'Ada' } },
    { method: 'PUT', payload: { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines', notes: 'Note G' } } },
    { method: 'PATCH', payload: { metadata: { notes: null, tags: [] } } },
    { method: 'PATCH', payload: { age: null } },
    { method: 'PUT', payload: { first_name: 'Countess', last_name: 'of Lovelace', metadata: { title: true } } }
  ]
  for (const { method, payload } of writes) {
    const res = await app.inject({ method, url: `/person/${id}`, headers: { 'if-match': etag(versions[versions.length - 1]!.version) }, payload })
    if (res.statusCode !== 200) throw new Error(`${method} failed: ${res.statusCode} ${res.body}`)
    versions.push(json(res))
  }
  return versions
}

async function diff (app: FastifyInstance, id: string, from: string, query: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url: `/person/${id}/versions/${from}/diff`, query })
}

t.test('diff: a JSON Patch that turns one version into another, fields only unless include_meta', async (t) => {
  const { app } = await setup(t)
  const versions = await tenVersions(app)
  const id = String(versions[0]!.entity_id)
  const current = versions[9]!

  for (const [i, source] of versions.entries()) {
    for (const [j, target] of versions.entries()) {
      if (i !== j && j !== 9 && (i + j) % 3 !== 0) continue // every pair with the current version, a third of the others
      const res = await diff(app, id, String(source.version), { to: String(target.version) })
      t.equal(res.statusCode, 200, `diff ${i} → ${j}: 200`)
      t.match(res.headers['content-type'], PATCH_TYPE, 'content-type application/json-patch+json')
      const patch = json(res) as Operation[]
      t.ok(Array.isArray(patch), 'an array of operations')
      t.ok(patch.every((op) => SERVER_FIELDS.every((f) => !op.path.startsWith(`/${f}`))), `diff ${i} → ${j}: no server-managed field`)
      const doc = clone(fieldsOf(source))
      const errors = applyPatch(doc, patch)
      t.ok(errors.every((e) => e === null), `diff ${i} → ${j} applies cleanly`)
      t.same(doc, fieldsOf(target), `diff ${i} → ${j} turns the fields of ${i} into those of ${j}`)
      if (i === j) t.same(patch, [], `diff ${i} → ${i} is empty`)

      const meta = await diff(app, id, String(source.version), { to: String(target.version), include_meta: 'true' })
      t.equal(meta.statusCode, 200)
      const full = clone(source)
      t.ok(applyPatch(full, json(meta)).every((e) => e === null), `include_meta diff ${i} → ${j} applies cleanly`)
      t.same(full, target, `include_meta diff ${i} → ${j} turns version ${i} into version ${j}, metadata included`)
    }
  }

  // to defaults to the current version.
  for (const [i, source] of versions.entries()) {
    const implicit = await diff(app, id, String(source.version))
    const explicit = await diff(app, id, String(source.version), { to: String(current.version) })
    t.same(json(implicit), json(explicit), `diff ${i} without to = diff ${i} → current`)
  }
  t.same(json(await diff(app, id, String(current.version))), [], 'the current version against itself: []')
  t.same(json(await diff(app, id, String(current.version), { include_meta: 'true' })), [], 'also with include_meta')

  const ops = json(await diff(app, id, String(versions[7]!.version), { to: String(versions[8]!.version) })) as Operation[]
  t.same(ops, [{ op: 'remove', path: '/age' }], 'a removed field is a remove operation')
  const meta = json(await diff(app, id, String(versions[7]!.version), { to: String(versions[8]!.version), include_meta: 'true' })) as Operation[]
  const paths = meta.map((op) => op.path).sort()
  t.same(paths, ['/age', '/changed_on', '/previous_version', '/version'], 'include_meta adds exactly the server-managed fields that changed')
  t.same(json(await diff(app, id, String(versions[7]!.version), { to: String(versions[8]!.version), include_meta: 'false' })), ops, 'include_meta=false is the default')
})

t.test('restore version 3 of 10: a new version with its fields; diff with it is empty', async (t) => {
  const ctx = await setup(t)
  const { app } = ctx
  const versions = await tenVersions(app)
  const id = String(versions[0]!.entity_id)
  const third = versions[2]!
  const current = versions[9]!
  const eventsBefore = await ctx.events(id)
  t.equal(eventsBefore.length, 10)

  const res = await app.inject({ method: 'POST', url: `/person/${id}/versions/${String(third.version)}/restore`, headers: { 'if-match': etag(current.version) } })
  t.equal(res.statusCode, 200, 'restore: 200')
  t.match(res.headers['content-type'], /^application\/json/)
  const restored = json(res)
  t.equal(res.headers.etag, etag(restored.version), 'ETag of the new version')
  t.match(restored.version, V7, 'a new UUIDv7 version')
  t.not(restored.version, third.version, 'not the restored version id')
  t.not(restored.version, current.version)
  t.equal(restored.previous_version, current.version, 'previous_version is the version it replaced')
  t.equal(restored.entity_id, id)
  t.equal(restored.active, true)
  t.ok(micros(restored.changed_on) > micros(current.changed_on), 'changed_on later than the replaced version')
  t.same(fieldsOf(restored), fieldsOf(third), 'the fields of version 3 exactly')

  const read = await app.inject({ method: 'GET', url: `/person/${id}` })
  t.same(json(read), restored, 'GET answers the restored state')
  t.equal(read.headers.etag, etag(restored.version))

  t.same(json(await diff(app, id, String(third.version), { to: String(restored.version) })), [], 'diff 3 → restored: []')
  t.same(json(await diff(app, id, String(third.version))), [], 'diff 3 → current (default): []')
  t.same(json(await diff(app, id, String(restored.version), { to: String(third.version) })), [], 'and back: []')
  const withMeta = json(await diff(app, id, String(third.version), { to: String(restored.version), include_meta: 'true' })) as Operation[]
  t.ok(withMeta.length > 0, 'include_meta=true: not empty')
  t.same(withMeta.map((op) => op.path).sort(), ['/changed_on', '/previous_version', '/version'], 'only version, previous_version and changed_on differ')
  t.ok(withMeta.every((op) => op.op === 'replace'))
  const full = clone(third)
  applyPatch(full, withMeta)
  t.same(full, restored)
  t.notSame(json(await diff(app, id, String(current.version), { to: String(restored.version) })), [], 'the replaced version differs')

  // One audit item (the replaced version, as stored) and one restored event.
  const audit = await ctx.audit(Person, id)
  t.equal(audit.length, 10, 'ten replaced versions in the audit table')
  t.ok(audit.some((a) => a.version === current.version), 'the replaced current version was audited')
  t.notOk(audit.some((a) => a.version === restored.version), 'the new version lives in the main table only')
  const events = await ctx.events(id)
  t.equal(events.length, 11, 'one event more')
  const event = events[10]!
  t.equal(event.type, 'verso.person.restored')
  t.equal(event.subject, id)
  t.equal(event.time, restored.changed_on)
  t.same(event.data, restored, 'the event carries the new state')

  const history = json(await app.inject({ method: 'GET', url: `/person/${id}/versions`, query: { limit: '100' } }))
  t.equal(history.items.length, 11)
  t.same(history.items[0], restored, 'the restore heads the history')
  t.same(history.items.slice(1).map((v: Entity) => v.version), [...versions].reverse().map((v) => v.version), 'the rest of the history is untouched')
  const one = await app.inject({ method: 'GET', url: `/person/${id}/versions/${String(third.version)}` })
  t.same(json(one), third, 'the restored version itself is unchanged')
})

t.test('restore keeps the stored attribute values exactly (raw item)', async (t) => {
  const ctx = await setup(t)
  const versions = await tenVersions(ctx.app)
  const id = String(versions[0]!.entity_id)
  const first = versions[0]!
  const rawFirst = (await ctx.scanRaw(ctx.tables(Person).audit)).find((r) => r.version?.S === first.version)!
  const res = await ctx.app.inject({ method: 'POST', url: `/person/${id}/versions/${String(first.version)}/restore`, headers: { 'if-match': etag(versions[9]!.version) } })
  t.equal(res.statusCode, 200)
  const rawNow = (await ctx.scanRaw(ctx.tables(Person).main)).find((r) => r.entity_id?.S === id)!
  for (const key of ['first_name', 'last_name', 'age', 'metadata']) t.same(rawNow[key], rawFirst[key], `${key} stored as in version 1`)
  t.same(JSON.parse(rawNow.metadata!.S!), { team: 'poets', tags: ['a', 'b'], nested: { deep: 1 } })
  t.same(Object.keys(rawNow).sort(), Object.keys(rawFirst).sort(), 'no attribute more or less')
})

t.test('restore preconditions: If-Match, body version, 428, 412, 409; nothing written on failure', async (t) => {
  const ctx = await setup(t)
  const { app } = ctx
  const created = await createPerson(app, { age: 1 })
  const id = String(created.entity_id)
  const url = `/person/${id}`
  const second = json(await app.inject({ method: 'PATCH', url, headers: { 'if-match': etag(created.version) }, payload: { age: 2 } }))
  const restoreUrl = `${url}/versions/${String(created.version)}/restore`
  const snapshot = async (): Promise<unknown> => [await ctx.audit(Person, id), await ctx.events(id), json(await app.inject({ method: 'GET', url }))]
  const before = await snapshot()

  const missing = await app.inject({ method: 'POST', url: restoreUrl })
  assertProblem(t, missing, 428, { code: 'VERSO_PRECONDITION_REQUIRED' })
  assertProblem(t, await app.inject({ method: 'POST', url: restoreUrl, headers: { 'if-match': '*' } }), 428, { code: 'VERSO_PRECONDITION_REQUIRED' })
  // The body is optional: {} carries no precondition, so it asks for one, with one message.
  const empty = assertProblem(t, await app.inject({ method: 'POST', url: restoreUrl, payload: {} }), 428, { code: 'VERSO_PRECONDITION_REQUIRED' })
  t.notOk(empty.errors, 'no contradictory field errors')

  const stale = await app.inject({ method: 'POST', url: restoreUrl, headers: { 'if-match': etag(created.version) } })
  const staleProblem = assertProblem(t, stale, 412, { code: 'VERSO_PRECONDITION_FAILED' })
  t.equal(staleProblem.current_version, second.version, '412 names the current version')
  assertProblem(t, await app.inject({ method: 'POST', url: restoreUrl, headers: { 'if-match': `W/${etag(second.version)}` } }), 412, { code: 'VERSO_PRECONDITION_FAILED' })

  const staleBody = await app.inject({ method: 'POST', url: restoreUrl, payload: { version: created.version } })
  const conflict = assertProblem(t, staleBody, 409, { code: 'VERSO_VERSION_CONFLICT' })
  t.equal(conflict.current_version, second.version, '409 names the current version')

  assertProblem(t, await app.inject({ method: 'POST', url: restoreUrl, payload: { version: second.version, first_name: 'X' } }), 400)
  assertProblem(t, await app.inject({ method: 'POST', url: restoreUrl, payload: { version: 'NOPE' } }), 400)
  assertProblem(t, await app.inject({ method: 'POST', url: restoreUrl, headers: { 'if-match': etag(second.version) }, payload: { version: created.version } }), 400)
  assertProblem(t, await app.inject({ method: 'POST', url: restoreUrl, headers: { 'content-type': 'text/plain' }, payload: `{"version":"${String(second.version)}"}` }), 415)

  const unknown = newId()
  const notFound = await app.inject({ method: 'POST', url: `${url}/versions/${unknown}/restore`, headers: { 'if-match': etag(second.version) } })
  const nf = assertProblem(t, notFound, 404, { code: 'VERSO_VERSION_NOT_FOUND' })
  t.match(nf.detail, unknown)
  const other = await createPerson(app, { first_name: 'Grace' })
  assertProblem(t, await app.inject({ method: 'POST', url: `${url}/versions/${String(other.version)}/restore`, headers: { 'if-match': etag(second.version) } }), 404, { code: 'VERSO_VERSION_NOT_FOUND' })
  assertProblem(t, await app.inject({ method: 'POST', url: `/person/${newId()}/versions/${String(created.version)}/restore`, headers: { 'if-match': etag(second.version) } }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })
  assertProblem(t, await app.inject({ method: 'POST', url: `${url}/versions/${String(created.version).toUpperCase()}/restore`, headers: { 'if-match': etag(second.version) } }), 400, { paths: ['/params/version'] })
  assertProblem(t, await app.inject({ method: 'POST', url: `${url}/versions/${String(created.version).slice(1)}/restore`, headers: { 'if-match': etag(second.version) } }), 400, { paths: ['/params/version'] })

  t.same(await snapshot(), before, 'no failed restore wrote anything (audit, events, main)')

  const byBody = await app.inject({ method: 'POST', url: restoreUrl, payload: { version: second.version } })
  t.equal(byBody.statusCode, 200, 'the body version works as the precondition')
  t.equal(byBody.headers.etag, etag(json(byBody).version))
  t.equal(json(byBody).previous_version, second.version)
  t.same(fieldsOf(json(byBody)), fieldsOf(created))

  const again = await app.inject({ method: 'POST', url: restoreUrl, headers: { 'if-match': `${etag(newId())}, ${etag(json(byBody).version)}` } })
  t.equal(again.statusCode, 200, 'an If-Match list holding the current version works')
  const self = await app.inject({ method: 'POST', url: `${url}/versions/${String(json(again).version)}/restore`, headers: { 'if-match': etag(json(again).version) } })
  t.equal(self.statusCode, 200, 'restoring the current version writes a new version with the same fields')
  t.equal(json(self).previous_version, json(again).version)
  t.same(fieldsOf(json(self)), fieldsOf(created))
  const events = await ctx.events(id)
  t.same(events.map((e) => e.type), ['verso.person.created', 'verso.person.updated', 'verso.person.restored', 'verso.person.restored', 'verso.person.restored'])
})

t.test('concurrent restores based on one version: one wins, the others get 412, one audit item and one event', async (t) => {
  const ctx = await setup(t)
  const { app } = ctx
  const created = await createPerson(app, { age: 1 })
  const id = String(created.entity_id)
  const second = json(await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(created.version) }, payload: { age: 2 } }))
  const results = await Promise.all(Array.from({ length: 12 }, async (_, i) => await app.inject({
    method: 'POST',
    url: `/person/${id}/versions/${String(i % 2 === 0 ? created.version : second.version)}/restore`,
    headers: { 'if-match': etag(second.version) }
  })))
  const winners = results.filter((r) => r.statusCode === 200)
  t.equal(winners.length, 1, 'exactly one restore succeeds')
  t.equal(results.filter((r) => r.statusCode === 412).length, 11, 'the others: 412')
  const winner = json(winners[0]!)
  for (const loser of results.filter((r) => r.statusCode === 412)) t.equal(json(loser).current_version, winner.version, '412 names the winner')
  t.equal((await ctx.audit(Person, id)).length, 2, 'one audit item more')
  t.same((await ctx.events(id)).map((e) => e.type), ['verso.person.created', 'verso.person.updated', 'verso.person.restored'])
  t.same(json(await app.inject({ method: 'GET', url: `/person/${id}` })), winner)
})

t.test('diff paths are JSON Pointers: "/" and "~" in keys are escaped', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app, { metadata: { 'a/b': 1, 'm~n': { 'x/~y': [1, 2] }, plain: true } })
  const id = String(created.entity_id)
  const changed = json(await app.inject({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(created.version) }, payload: { first_name: 'Ada', last_name: 'Lovelace', metadata: { 'a/b': 2, 'm~n': { 'x/~y': [1, 3] }, '': 'empty key' } } }))
  const res = await diff(app, id, String(created.version), { to: String(changed.version) })
  t.equal(res.statusCode, 200)
  const patch = json(res) as Operation[]
  t.ok(patch.some((op) => op.path === '/metadata/a~1b'), 'a/b is written a~1b')
  t.ok(patch.some((op) => op.path.startsWith('/metadata/m~0n/x~1~0y')), 'm~n and x/~y are escaped')
  const doc = clone(fieldsOf(created))
  t.ok(applyPatch(doc, patch).every((e) => e === null), 'the patch applies')
  t.same(doc, fieldsOf(changed), 'and gives the later version')
})

t.test('restore undeletes a soft-deleted entity', async (t) => {
  const ctx = await setup(t)
  const { app } = ctx
  const created = await createPerson(app, { age: 5, metadata: { k: 'v' } })
  const id = String(created.entity_id)
  const url = `/person/${id}`
  const second = json(await app.inject({ method: 'PUT', url, headers: { 'if-match': etag(created.version) }, payload: { first_name: 'Grace', last_name: 'Hopper' } }))
  const deleted = json(await app.inject({ method: 'DELETE', url, headers: { 'if-match': etag(second.version) } }))
  assertProblem(t, await app.inject({ method: 'GET', url }), 404, { code: 'VERSO_ENTITY_NOT_FOUND' })

  const res = await app.inject({ method: 'POST', url: `${url}/versions/${String(created.version)}/restore`, headers: { 'if-match': etag(deleted.version) } })
  t.equal(res.statusCode, 200)
  const restored = json(res)
  t.equal(restored.active, true, 'active again')
  t.equal(restored.previous_version, deleted.version)
  t.same(fieldsOf(restored), fieldsOf(created))
  const read = await app.inject({ method: 'GET', url })
  t.equal(read.statusCode, 200, 'readable again without include_deleted')
  t.same(json(read), restored)
  const listed = json(await app.inject({ method: 'GET', url: '/person' }))
  t.ok(listed.items.some((p: Entity) => p.entity_id === id), 'listed again')
  t.same((await ctx.events(id)).map((e) => e.type), ['verso.person.created', 'verso.person.updated', 'verso.person.deleted', 'verso.person.restored'])
  t.equal((await ctx.audit(Person, id)).length, 3)
  t.same(json(await diff(app, id, String(deleted.version), { to: String(restored.version) })), json(await diff(app, id, String(second.version), { to: String(created.version) })), 'diff of delete → restore equals diff of second → first (fields only)')

  // Restoring the deleted version itself of a deleted entity also undeletes: the fields are what counts.
  const deleted2 = json(await app.inject({ method: 'DELETE', url, headers: { 'if-match': etag(restored.version) } }))
  const fromDeleted = await app.inject({ method: 'POST', url: `${url}/versions/${String(deleted.version)}/restore`, headers: { 'if-match': etag(deleted2.version) } })
  t.equal(fromDeleted.statusCode, 200)
  t.equal(json(fromDeleted).active, true)
  t.same(fieldsOf(json(fromDeleted)), fieldsOf(second))
})

t.test('diff errors: unknown versions, another entity, malformed ids and parameters', async (t) => {
  const { app } = await setup(t)
  const created = await createPerson(app)
  const id = String(created.entity_id)
  const second = json(await app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(created.version) }, payload: { age: 4 } }))
  const other = await createPerson(app, { first_name: 'Grace' })
  const otherSecond = json(await app.inject({ method: 'PATCH', url: `/person/${String(other.entity_id)}`, headers: { 'if-match': etag(other.version) }, payload: { age: 4 } }))

  for (const to of [String(other.version), String(otherSecond.version)]) {
    const res = await diff(app, id, String(created.version), { to })
    const problem = assertProblem(t, res, 404, { code: 'VERSO_VERSION_NOT_FOUND' })
    t.match(problem.detail, to, 'the detail names the version of the other entity')
  }
  assertProblem(t, await diff(app, id, String(other.version)), 404, { code: 'VERSO_VERSION_NOT_FOUND' })
  assertProblem(t, await diff(app, id, String(otherSecond.version), { to: String(second.version) }), 404, { code: 'VERSO_VERSION_NOT_FOUND' })
  assertProblem(t, await diff(app, id, newId()), 404, { code: 'VERSO_VERSION_NOT_FOUND' })
  assertProblem(t, await diff(app, id, String(created.version), { to: newId() }), 404, { code: 'VERSO_VERSION_NOT_FOUND' })
  assertProblem(t, await diff(app, newId(), String(created.version)), 404)

  for (const bad of [String(created.version).toUpperCase(), String(created.version).slice(0, 20), `${String(created.version)}a`]) {
    assertProblem(t, await diff(app, id, bad), 400, { paths: ['/params/version'] })
    assertProblem(t, await diff(app, id, String(created.version), { to: bad }), 400, { paths: ['/querystring/to'] })
  }
  assertProblem(t, await diff(app, id, String(created.version), { include_meta: 'perhaps' }), 400, { paths: ['/querystring/include_meta'] })
  assertProblem(t, await diff(app, id, String(created.version), { from: String(second.version) }), 400, { paths: ['/querystring/from'] })

  // The diff of a soft-deleted entity's current version works: fields equal, active differs.
  const deleted = json(await app.inject({ method: 'DELETE', url: `/person/${id}`, headers: { 'if-match': etag(second.version) } }))
  t.same(json(await diff(app, id, String(second.version))), [], 'soft delete changes no field')
  const meta = json(await diff(app, id, String(second.version), { include_meta: 'true' })) as Operation[]
  t.ok(meta.some((op) => op.path === '/active' && op.op === 'replace' && op.value === false), 'include_meta shows active=false')
  t.ok(meta.some((op) => op.op === 'replace' && op.path === '/version' && op.value === deleted.version), 'and the new version')
})
