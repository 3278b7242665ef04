import t from 'tap'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { Person } from '../../src/models/person.js'
import { ZERO_ID, parseTimestampMicros } from '../../src/models/entity.js'
import { setup, json, etag } from '../support/helper.js'

const PY_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/

t.test('the main item is stored with Rococo types', async (t) => {
  const ctx = await setup(t)
  const res = await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines', tags: ['a'] } } })
  t.equal(res.statusCode, 201)
  const rows = await ctx.scanRaw(ctx.tables(Person).main)
  t.equal(rows.length, 1)
  const row = rows[0]!
  t.same(Object.keys(row).sort(), ['active', 'age', 'changed_by_id', 'changed_on', 'entity_id', 'first_name', 'last_name', 'metadata', 'previous_version', 'version'])
  t.same(row.age, { N: '36' }, 'integer as N')
  t.same(row.active, { BOOL: true })
  t.ok(row.metadata?.S, 'object as JSON text in S')
  t.same(JSON.parse(row.metadata!.S!), { team: 'engines', tags: ['a'] })
  t.same(row.previous_version, { S: ZERO_ID }, 'zero id on create')
  t.same(row.changed_by_id, { S: ZERO_ID }, 'anonymous caller is the zero id')
  t.match(row.changed_on?.S, PY_ISO)
  t.match(row.version?.S, /^[0-9a-f]{12}7[0-9a-f]{19}$/, 'version is a UUIDv7 without dashes')
  t.match(row.entity_id?.S, /^[0-9a-f]{12}4[0-9a-f]{19}$/, 'generated entity_id is a UUIDv4 without dashes')

  const noAge = await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Grace', last_name: 'Hopper' } })
  const stored = (await ctx.scanRaw(ctx.tables(Person).main)).find((r) => r.entity_id?.S === json(noAge).entity_id)!
  t.notOk('age' in stored, 'absent fields are left out of the item')
  t.notOk('metadata' in stored)
})

t.test('every write: audit holds the replaced version exactly, one event per version, unbroken chain', async (t) => {
  const ctx = await setup(t)
  const created = json(await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace', metadata: { n: 0 } } }))
  const id = String(created.entity_id)
  const versions = [created]
  const storedBefore: Array<Record<string, unknown>> = []
  for (let i = 1; i <= 5; i++) {
    const rawBefore = (await ctx.scanRaw(ctx.tables(Person).main)).find((r) => r.entity_id?.S === id)!
    storedBefore.push(rawBefore)
    const last = versions[versions.length - 1]
    const res = i % 2 === 0
      ? await ctx.app.inject({ method: 'PATCH', url: `/person/${id}`, headers: { 'if-match': etag(last.version), 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ metadata: { n: i } }) })
      : await ctx.app.inject({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(last.version) }, payload: { first_name: 'Ada', last_name: `Lovelace ${i}`, metadata: { n: i } } })
    t.equal(res.statusCode, 200, `write ${i}`)
    versions.push(json(res))
  }
  const del = await ctx.app.inject({ method: 'DELETE', url: `/person/${id}`, headers: { 'if-match': etag(versions[versions.length - 1].version) } })
  t.equal(del.statusCode, 200)
  versions.push(json(del))

  // chain: zero id → v0 → v1 → …, changed_on strictly increasing
  t.equal(versions[0].previous_version, ZERO_ID)
  for (let i = 1; i < versions.length; i++) {
    t.equal(versions[i].previous_version, versions[i - 1].version, `version ${i} points at its predecessor`)
    t.ok(parseTimestampMicros(versions[i].changed_on)! > parseTimestampMicros(versions[i - 1].changed_on)!, `changed_on ${i} is later`)
    t.match(versions[i].changed_on, PY_ISO)
  }

  // audit: every replaced version, exactly as it was stored in the main table
  const auditRows = await ctx.audit(Person, id)
  t.equal(auditRows.length, versions.length - 1, 'one audit item per replaced version')
  const rawAudit = (await ctx.scanRaw(ctx.tables(Person).audit)).filter((r) => r.entity_id?.S === id)
  for (const before of storedBefore) {
    const match = rawAudit.find((r) => r.version?.S === (before.version as { S: string }).S)
    t.same(match, before, 'audit item equals the replaced main item attribute for attribute')
  }
  t.notOk(rawAudit.some((r) => r.version?.S === versions[versions.length - 1].version), 'the current version is not in the audit table')

  // outbox: one CloudEvent per committed version, in order
  const events = await ctx.events(id)
  t.equal(events.length, versions.length)
  const actions = ['created', 'updated', 'updated', 'updated', 'updated', 'updated', 'deleted']
  events.forEach((event, i) => {
    t.equal(event.specversion, '1.0')
    t.equal(event.type, `verso.person.${actions[i]}`)
    t.equal(event.source, '/verso/person')
    t.equal(event.subject, id)
    t.equal(event.time, versions[i].changed_on)
    t.equal(event.datacontenttype, 'application/json')
    t.equal(event.partitionkey, id)
    t.equal(event.sequence, String(parseTimestampMicros(versions[i].changed_on)).padStart(17, '0'), 'sequence: changed_on in microseconds, fixed width')
    if (i > 0) t.ok(event.sequence > events[i - 1]!.sequence, 'sequence grows along the chain, compared as text')
    t.match(event.id, /^[0-9a-f]{32}$/)
    t.same(event.data, versions[i], 'data is the new state, previous_version and changed_by_id included')
  })
  t.equal(new Set(events.map((e) => e.id)).size, events.length, 'event ids are unique')

  const main = json(await ctx.app.inject({ method: 'GET', url: `/person/${id}?include_deleted=true` }))
  t.same(main, versions[versions.length - 1], 'the main table holds the last version only')
})

t.test('conflict storm: 20 concurrent PUTs with one If-Match → one wins, 19 × 412, one audit and one event added', async (t) => {
  const ctx = await setup(t)
  const created = json(await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace' } }))
  const id = String(created.entity_id)
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await ctx.app.inject({
    method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(created.version) }, payload: { first_name: 'Ada', last_name: `writer ${i}` }
  })))
  const statuses = results.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 200).length, 1, 'exactly one succeeds')
  t.equal(statuses.filter((s) => s === 412).length, 19, 'the others get 412')
  const winner = json(results.find((r) => r.statusCode === 200)!)
  for (const loser of results.filter((r) => r.statusCode === 412)) {
    t.equal(json(loser).current_version, winner.version, 'the problem names the current version')
  }
  t.equal((await ctx.audit(Person, id)).length, 1, 'one audit item')
  t.equal((await ctx.events(id)).length, 2, 'created + one updated event')
  const current = json(await ctx.app.inject({ method: 'GET', url: `/person/${id}` }))
  t.same(current, winner, 'the stored state is the winner')
})

t.test('a transaction that fails half way leaves nothing behind', async (t) => {
  const ctx = await setup(t)
  const created = json(await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace' } }))
  const id = String(created.entity_id)
  // Someone already archived the current version: the audit put's condition will fail inside the transaction.
  await ctx.client.send(new PutItemCommand({ TableName: ctx.tables(Person).audit, Item: { entity_id: { S: id }, version: { S: created.version }, marker: { S: 'pre-existing' } } }))
  const mainBefore = await ctx.scanRaw(ctx.tables(Person).main)
  const outboxBefore = await ctx.scanRaw(ctx.outbox)

  const res = await ctx.app.inject({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': etag(created.version) }, payload: { first_name: 'Ada', last_name: 'Byron' } })
  t.equal(res.statusCode, 409)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(json(res).code, 'VERSO_AUDIT_CONFLICT')

  t.same(await ctx.scanRaw(ctx.tables(Person).main), mainBefore, 'main item untouched')
  t.same(await ctx.scanRaw(ctx.outbox), outboxBefore, 'no event written')
  const auditRows = await ctx.audit(Person, id)
  t.equal(auditRows.length, 1)
  t.equal(auditRows[0]!.marker, 'pre-existing', 'audit item untouched')
})

t.test('create with an existing client id fails whole: no second event', async (t) => {
  const ctx = await setup(t)
  const id = 'a'.repeat(32)
  t.equal((await ctx.app.inject({ method: 'POST', url: '/person', payload: { entity_id: id, first_name: 'A', last_name: 'B' } })).statusCode, 201)
  const again = await ctx.app.inject({ method: 'POST', url: '/person', payload: { entity_id: id, first_name: 'C', last_name: 'D' } })
  t.equal(again.statusCode, 409)
  t.equal(json(again).code, 'VERSO_ALREADY_EXISTS')
  t.equal((await ctx.events(id)).length, 1)
  const current = json(await ctx.app.inject({ method: 'GET', url: `/person/${id}` }))
  t.equal(current.first_name, 'A', 'the first entity is untouched')
})
