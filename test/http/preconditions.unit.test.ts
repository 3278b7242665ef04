import t from 'tap'
import { thrown } from '../support/thrown.js'
import { VersoError } from '../../src/errors.js'
import { notModified, parseEntityTags, requirePrecondition } from '../../src/http/preconditions.js'

const V1 = '0'.repeat(31) + '1'
const V2 = '0'.repeat(31) + '2'

t.test('entity tag lists', async (t) => {
  t.same(parseEntityTags('*'), { any: true, strong: [], weak: [] })
  t.same(parseEntityTags(`"${V1}", W/"${V2}"`), { any: false, strong: [V1], weak: [V2] })
  t.match(thrown(() => parseEntityTags(V1)), { statusCode: 400 }, 'unquoted')
  t.match(thrown(() => parseEntityTags(`"${V1}`)), { statusCode: 400 }, 'unterminated')
})

t.test('a write needs a base version', async (t) => {
  t.same(requirePrecondition(`"${V1}"`, undefined), { versions: [V1], source: 'if-match' })
  t.same(requirePrecondition(`"${V1}", "${V2}"`, undefined), { versions: [V1, V2], source: 'if-match' })
  t.same(requirePrecondition(undefined, V2), { versions: [V2], source: 'body' })
  t.same(requirePrecondition(`"${V1}"`, V1), { versions: [V1], source: 'if-match' }, 'both, agreeing')
  t.same(requirePrecondition(`W/"${V1}"`, undefined).versions, [], 'weak tags never match a write')
  t.match(thrown(() => requirePrecondition(undefined, undefined)), { statusCode: 428 })
  t.match(thrown(() => requirePrecondition('*', undefined)), { statusCode: 428 })
  t.match(thrown(() => requirePrecondition(`"${V1}"`, V2)), { statusCode: 400 })
  try {
    requirePrecondition(undefined, undefined)
  } catch (err) {
    t.ok(err instanceof VersoError)
    t.equal((err as VersoError).code, 'VERSO_PRECONDITION_REQUIRED')
  }
})

t.test('If-None-Match on reads uses weak comparison', async (t) => {
  t.ok(notModified(`"${V1}"`, V1))
  t.ok(notModified(`W/"${V1}"`, V1))
  t.ok(notModified('*', V1))
  t.notOk(notModified(`"${V2}"`, V1))
  t.notOk(notModified(undefined, V1))
})
