// The console's pure logic (console/src): what each version of a history was, which fields a diff touches, and
// its URLs. The browser test (test/browser/console.test.ts) sees the same through the pages.
import t from 'tap'
import { asOfInstant, entityHref, listQuery, parseFilters, parseRoute } from '../../console/src/route.js'
import { canonical, chainWords, changedFields, comparedFields, describeVersions, forkParents, formatChangedOn, shortId, who, ZERO_ID, type Version } from '../../console/src/timeline.js'

const version = (v: string, previous: string, fields: Record<string, unknown>, active = true): Version =>
  ({ entity_id: 'e', version: v, previous_version: previous, active, changed_by_id: ZERO_ID, changed_on: '2026-11-26T23:51:48.540000+00:00', ...fields })

t.test('actions: created, updated, deleted, restored (undelete and by fields)', async (t) => {
  const v1 = version('v1', ZERO_ID, { a: 1, o: { x: 1, y: 2 } })
  const v2 = version('v2', 'v1', { a: 2, o: { x: 1, y: 2 } })
  const v3 = version('v3', 'v2', { a: 2, o: { x: 1, y: 2 } }, false)
  const v4 = version('v4', 'v3', { a: 2, o: { x: 1, y: 2 } })
  const v5 = version('v5', 'v4', { o: { y: 2, x: 1 }, a: 1 })
  const v6 = version('v6', 'v5', { o: { y: 2, x: 1 }, a: 1 })
  t.same(describeVersions([v6, v5, v4, v3, v2, v1]), [
    { action: 'updated' }, // the same fields as its predecessor: no change, not a restore
    { action: 'restored', sameAs: 'v1' }, // members in another order are the same fields
    { action: 'restored' }, // active after a deleted version
    { action: 'deleted' },
    { action: 'updated' },
    { action: 'created' }
  ])
})

t.test('actions: the predecessor of the oldest version shown, given apart, tells an undelete', async (t) => {
  const deleted = version('v3', 'v2', { a: 2 }, false)
  const undeleted = version('v4', 'v3', { a: 2 })
  t.same(describeVersions([undeleted]), [{ action: 'updated' }], 'without it: an update')
  t.same(describeVersions([undeleted], new Map([['v3', deleted]])), [{ action: 'restored' }], 'with it: a restore')
  t.same(describeVersions([{ entity_id: 'e', version: 'r', active: true }]), [{ action: 'created' }], 'no previous_version: the first')
})

t.test('changed fields of an RFC 6902 patch: top-level, escaped, both ends of a move', async (t) => {
  t.same(changedFields([
    { path: '/age' },
    { path: '/metadata/city' },
    { path: '/a~1b' },
    { path: '/t~0x' },
    { path: '/to', from: '/from' },
    { path: '/age' }
  ]), ['age', 'metadata', 'a/b', 't~x', 'to', 'from'])
  t.same(changedFields([]), [])
})

t.test('compared fields: the declared ones first in their order, then the others sorted', async (t) => {
  t.same(comparedFields(['first', 'last', 'age'], { last: 'B', z: 1, entity_id: 'e', version: 'v' }, { first: 'A', last: 'C', extra: true }), ['first', 'last', 'extra', 'z'])
})

t.test('formatting', async (t) => {
  t.equal(formatChangedOn('2026-11-26T23:51:48.540123+00:00'), '2026-11-26 23:51:48.540 UTC')
  t.equal(formatChangedOn('2026-11-26 23:51:48+02:00', ''), '2026-11-26 21:51:48.000')
  t.equal(formatChangedOn('not a time'), 'not a time')
  t.equal(formatChangedOn(undefined), '—')
  t.equal(shortId('019ac3f2a4b67c1d8e2f3a4b5c6d7e8f'), '…5c6d7e8f', 'the end of a UUIDv7: its random part')
  t.equal(who(ZERO_ID), 'anonymous')
  t.equal(who('billing'), 'billing')
  t.equal(canonical({ b: [1, { d: 1, c: 2 }], a: null, u: undefined }), '{"a":null,"b":[1,{"c":2,"d":1}]}')
})

t.test('routes: the URL names the page, the model, the entity and the versions', async (t) => {
  t.same(parseRoute('/console', ''), { page: 'models' })
  t.same(parseRoute('/console/', ''), { page: 'models' })
  const list = parseRoute('/console/book', '?author=eq.Le%20Guin&include_deleted=true')
  t.match(list, { page: 'entities', model: 'book' })
  const entity = parseRoute('/console/person/abc', '?a=v1&b=v2')
  t.match(entity, { page: 'entity', model: 'person', id: 'abc' })
  t.equal(entity.page === 'entity' ? entity.query.get('b') : undefined, 'v2')
  t.same(parseRoute('/elsewhere', ''), { page: 'unknown' })
  t.same(parseRoute('/console/a/b/c', ''), { page: 'unknown' })
  t.equal(entityHref('person', 'abc', { a: 'v1', b: undefined, as_of: '2026-11-26T23:51:48Z' }), '/console/person/abc?a=v1&as_of=2026-11-26T23%3A51%3A48Z')
  t.equal(entityHref('person', 'abc'), '/console/person/abc')
})

t.test('filters: PostgREST form both ways; list options are not filters', async (t) => {
  const query = new URLSearchParams('author=Le Guin&rating=gte.4&status=neq.finished&title=begins_with.The&cursor=c&include_deleted=true&limit=5')
  const filters = parseFilters(query)
  t.same(filters, [
    { field: 'author', op: 'eq', value: 'Le Guin' },
    { field: 'rating', op: 'gte', value: '4' },
    { field: 'status', op: 'ne', value: 'finished' },
    { field: 'title', op: 'begins_with', value: 'The' }
  ])
  t.equal(listQuery(filters, { include_deleted: true }).toString(), 'author=eq.Le+Guin&rating=gte.4&status=ne.finished&title=begins_with.The&include_deleted=true')
  t.same(parseFilters(listQuery([{ field: 'title', op: 'eq', value: 'lt.5 reasons' }])), [{ field: 'title', op: 'eq', value: 'lt.5 reasons' }], 'a value that looks like an operator stays a value')
  t.same(parseFilters(new URLSearchParams('title=nope.x')), [{ field: 'title', op: 'eq', value: 'nope.x' }], 'an unknown operator: a bare value')
})

t.test('as_of as typed: with an offset as is, without one read as UTC', async (t) => {
  t.equal(asOfInstant('2026-11-26T23:51:48.540000+00:00'), '2026-11-26T23:51:48.540000+00:00')
  t.equal(asOfInstant(' 2026-11-26 23:51 '), '2026-11-26T23:51:00Z')
  t.equal(asOfInstant('2026-11-26T23:51:48.5'), '2026-11-26T23:51:48.5Z')
  t.equal(asOfInstant('2026-11-26'), '2026-11-26T00:00:00Z')
  t.equal(asOfInstant('yesterday'), 'yesterday', 'left to the API to refuse')
})

t.test('a broken chain: the fork children and the words of Verso-Chain', async (t) => {
  const report = {
    linear: false,
    current_version: 'c',
    versions: 5,
    forks: [{ parent: { version: 'a' }, children: [{ version: 'b' }, { version: 'c' }] }, { parent: { version: 'x' }, children: [{ version: 'y' }, { version: 'z' }] }],
    gaps: []
  }
  t.same([...forkParents(report)], [['b', 'a'], ['c', 'a'], ['y', 'x'], ['z', 'x']])
  t.same(forkParents(undefined).size, 0, 'nothing checked yet: nothing marked')
  t.match(chainWords('forked'), /^it forks/)
  t.match(chainWords('forked, gapped'), /^it forks .* and it has gaps/)
  t.match(chainWords('gapped'), /^it has gaps/)
})
