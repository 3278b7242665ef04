import t from 'tap'
import { chainBreaks, chainReport } from '../../src/repository/integrity.js'
import { ZERO_ID } from '../../src/models/entity.js'
import type { Item } from '../../src/storage/item-mapping.js'

// The chain check is pure: items in, forks and gaps out. The routes and npm run verify read the items.

const at = (second: number): string => `2026-01-01T00:00:${String(second).padStart(2, '0')}.000000+00:00`
const v = (version: string, previous: string | undefined, second: number, by = ZERO_ID): Item => ({
  entity_id: { S: 'e' },
  version: { S: version },
  ...(previous === undefined ? {} : { previous_version: { S: previous } }),
  changed_on: { S: at(second) },
  changed_by_id: { S: by }
})
/** The first item is the current one (the main table's), the rest the audit table's. */
const check = (items: Item[]): ReturnType<typeof chainReport> => chainReport(items[0]!, items.slice(1))
const ref = (version: string, second: number, by = ZERO_ID): Record<string, string> => ({ version, changed_on: at(second), changed_by_id: by })

t.test('a linear chain, in any order', async (t) => {
  const items = [v('c', 'b', 3), v('a', ZERO_ID, 1), v('b', 'a', 2)]
  t.same(check(items), { linear: true, current_version: 'c', versions: 3, forks: [], gaps: [] })
  t.equal(chainBreaks(check(items)), undefined)
  t.same(check([v('a', ZERO_ID, 1)]), { linear: true, current_version: 'a', versions: 1, forks: [], gaps: [] }, 'one version')
  t.same(check([v('b', 'a', 2), v('a', undefined, 1)]).linear, true, 'a first version without previous_version (a hand-made item) is a start, not a gap')
})

t.test('a fork: two versions naming the same predecessor, oldest child first', async (t) => {
  const rococo = 'ffff0000ffff0000ffff0000ffff0000'
  const report = check([v('c', 'a', 5, rococo), v('b', 'a', 4), v('a', ZERO_ID, 1)])
  t.same(report, { linear: false, current_version: 'c', versions: 3, forks: [{ parent: ref('a', 1), children: [ref('b', 4), ref('c', 5, rococo)] }], gaps: [] })
  t.equal(chainBreaks(report), 'forked')
})

t.test('the current version also copied into the audit table counts once', async (t) => {
  t.same(check([v('b', 'a', 2), v('a', ZERO_ID, 1), v('b', 'a', 2)]), { linear: true, current_version: 'b', versions: 2, forks: [], gaps: [] })
})

t.test('a gap: a predecessor stored nowhere; with a fork at it, both are reported', async (t) => {
  const gapped = check([v('c', 'b', 3), v('a', ZERO_ID, 1)])
  t.same(gapped, { linear: false, current_version: 'c', versions: 2, forks: [], gaps: [{ version: 'b', named_by: [ref('c', 3)] }] })
  t.equal(chainBreaks(gapped), 'gapped')
  const both = check([v('c', 'x', 3), v('d', 'x', 4), v('a', ZERO_ID, 1)])
  t.same(both.forks, [{ parent: { version: 'x' }, children: [ref('c', 3), ref('d', 4)] }], 'the missing parent is named by its version only')
  t.same(both.gaps, [{ version: 'x', named_by: [ref('c', 3), ref('d', 4)] }])
  t.equal(chainBreaks(both), 'forked, gapped')
})

t.test('two creations of one entity id fork at the zero id, which is never a gap', async (t) => {
  const report = check([v('b', ZERO_ID, 2), v('a', ZERO_ID, 1)])
  t.same(report.forks, [{ parent: { version: ZERO_ID }, children: [ref('a', 1), ref('b', 2)] }])
  t.same(report.gaps, [])
})
