import t from 'tap'
import { parseFilters } from '../../src/http/filters.js'
import { Person } from '../../src/models/person.js'

t.test('number filters outside what DynamoDB holds are a 400 naming the field (found by chaos hostile-input)', async (t) => {
  for (const text of ['lte.1e300', 'gt.-1e200', 'between.0,1e126', 'in.(1,1e130)']) {
    t.throws(() => parseFilters(Person, { age: text }), { statusCode: 400, code: 'VERSO_VALIDATION_FAILED', errors: [{ path: '/querystring/age' }] }, text)
  }
  t.same(parseFilters(Person, { age: 'lte.40008000000000000000' }), [{ field: 'age', op: 'lte', values: [40008000000000000000] }], 'large but storable')
})

t.test('a value that starts like an inherited member of an object is a value, not an operator (found by chaos hostile-input)', async (t) => {
  for (const text of ['__proto__.x', 'constructor.x', 'toString.x', 'hasOwnProperty.x']) {
    t.same(parseFilters(Person, { last_name: text }), [{ field: 'last_name', op: 'eq', values: [text] }], text)
  }
})
