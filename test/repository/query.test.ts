import t from 'tap'
import { ExpressionBuilder } from '../../src/repository/query.js'

t.test('filter values beyond 2^53 are marshalled as written, not thrown (found by chaos hostile-input)', async (t) => {
  const expressions = new ExpressionBuilder()
  const placeholder = expressions.value(Number('00000000000040008000000000000000'))
  t.same(expressions.attributeValues(), { [placeholder]: { N: '40008000000000000000' } })
})
