import t from 'tap'
import { CursorCodec } from '../../src/http/cursor.js'
import { VersoError } from '../../src/errors.js'
import { thrown } from '../support/thrown.js'

const codec = new CursorCodec('a-cursor-secret')
const page = { last: { entity_id: 'b7e2c1d0a9f84e3b8c6d5e4f3a2b1c0d' }, n: 2 }

t.test('a cursor decodes to what was encoded, in the scope it was issued for', async (t) => {
  const cursor = codec.encode(page, 'book|list|author=X')
  t.match(cursor, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'URL-safe: base64url body and signature')
  t.same(codec.decode(cursor, 'book|list|author=X'), page)
})

t.test('a cursor is refused with 400 when anything about it is not as issued', async (t) => {
  const cursor = codec.encode(page, 'book|list')
  const [body = '', signature = ''] = cursor.split('.')
  const forged = Buffer.from(JSON.stringify({ ...page, n: 3 })).toString('base64url')
  const cases: Array<[string, string, string]> = [
    ['another scope (model, route or filters)', cursor, 'person|list'],
    ['another secret', new CursorCodec('another-secret').encode(page, 'book|list'), 'book|list'],
    ['a changed body under the old signature', `${forged}.${signature}`, 'book|list'],
    ['a truncated signature', `${body}.${signature.slice(0, -1)}`, 'book|list'],
    ['no signature', body, 'book|list'],
    ['a third part', `${cursor}.x`, 'book|list'],
    ['empty', '', 'book|list']
  ]
  for (const [label, given, scope] of cases) {
    const err = thrown(() => codec.decode(given, scope))
    t.ok(err instanceof VersoError, label)
    t.equal((err as VersoError).statusCode, 400, `${label}: 400`)
    t.match((err as VersoError).message, /start again without it/, `${label}: says what to do`)
  }
})
