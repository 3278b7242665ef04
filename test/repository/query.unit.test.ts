import t from 'tap'
import { Type } from 'typebox'
import { parseFilters } from '../../src/http/filters.js'
import { Book } from '../../src/models/book.js'
import { defineModel } from '../../src/models/define.js'
import { Person } from '../../src/models/person.js'
import { describePlan, ExpressionBuilder, planQuery } from '../../src/repository/query.js'
import { thrown } from '../support/thrown.js'

t.test('filter values beyond 2^53 are marshalled as written, not thrown (found by chaos hostile-input)', async (t) => {
  const expressions = new ExpressionBuilder()
  const placeholder = expressions.value(Number('00000000000040008000000000000000'))
  t.same(expressions.attributeValues(), { [placeholder]: { N: '40008000000000000000' } })
})

t.test('the planner: an index serves only filters that name all its key fields', async (t) => {
  const plan = (query: Record<string, string | string[]>, order?: 'asc' | 'desc'): ReturnType<typeof planQuery> => planQuery(Book, parseFilters(Book, query), order)
  t.equal(describePlan(plan({ author: 'A' })), 'scan', 'equality on the hash field alone: the index lacks books without a title')
  for (const title of ['T', 'lt.T', 'lte.T', 'gt.T', 'gte.T', 'between.A,T', 'begins_with.T', 'exists.true']) {
    t.equal(describePlan(plan({ author: 'A', title })), 'index:author', `title=${title}`)
  }
  for (const title of ['ne.T', 'in.(T,U)', 'exists.false', ['gte.A', 'lte.T']]) {
    t.equal(describePlan(plan({ author: 'A', title })), 'scan', `title=${String(title)}: not a key condition, nor a filter DynamoDB takes on a key`)
  }
  t.equal(describePlan(plan({ author: 'in.(A,B)', title: 'exists.true' })), 'scan', 'the hash field needs equality')
  const lowest = plan({ author: 'A', title: 'exists.true', rating: 'gte.4' })
  t.match(lowest, { kind: 'index', key: [{ field: 'author', op: 'eq' }, { field: 'title', op: 'gte', values: ['\u0000'] }], filter: [{ field: 'rating' }] }, 'exists.true in the key: from the lowest text up')
  t.match(plan({ author: ['A', 'exists.true'], title: ['begins_with.T', 'exists.true'] }), { kind: 'index', key: [{ op: 'eq' }, { op: 'begins_with' }], filter: [] }, 'exists.true beside a key condition is implied, not a filter')
  t.equal(describePlan(plan({ author: 'A', title: 'exists.true' }, 'desc')), 'index:author')
  t.match(thrown(() => plan({ author: 'A' }, 'asc')), { statusCode: 400, message: /author=<value>&title=<eq\|lt\|lte\|gt\|gte\|between\|begins_with\|exists\.true> \(index author\)/ })
  t.equal(describePlan(planQuery(Person, parseFilters(Person, { last_name: 'L' }))), 'index:last_name', 'a hash-only index serves a bare equality')

  const Shelf = defineModel({ name: 'Shelf', schema: Type.Object({ room: Type.String(), level: Type.Optional(Type.Number()) }), indexes: [{ name: 'by_room', hash: 'room', range: 'level' }], example: { room: 'r' } })
  const numeric = planQuery(Shelf, parseFilters(Shelf, { room: 'r', level: 'exists.true' }))
  const expressions = new ExpressionBuilder()
  t.equal(numeric.kind === 'index' ? numeric.key.map((c) => expressions.condition(c)).join(' AND ') : '', '#n0 = :v0 AND #n1 >= :v1')
  t.same(expressions.attributeValues(), { ':v0': { S: 'r' }, ':v1': { N: '-9.9999999999999999999999999999999999999E+125' } }, 'from the lowest number DynamoDB holds up')
})
