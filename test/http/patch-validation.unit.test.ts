import t from 'tap'
import { Type } from 'typebox'
import { validateMerged } from '../../src/http/patch-validation.js'
import { bodyAjv } from '../../src/models/validator.js'
import { applyMergePatch } from '../../src/repository/merge-patch.js'
import { thrown } from '../support/thrown.js'

const validate = bodyAjv.compile(Type.Object({
  name: Type.String({ minLength: 1 }),
  rating: Type.Optional(Type.Integer()),
  address: Type.Optional(Type.Object({ city: Type.String(), zip: Type.Optional(Type.String({ pattern: '^[0-9]+$' })) })),
  note: Type.Optional(Type.Union([Type.Object({ text: Type.String() }), Type.Null()]))
}, { additionalProperties: false }))

/** What validateMerged throws for `patch` applied to `stored`, or undefined when the result is valid. */
const verdict = (stored: Record<string, unknown>, patch: Record<string, unknown>): any =>
  thrown(() => { validateMerged(validate, applyMergePatch(stored, patch) as Record<string, unknown>, patch, 'body', 'Thing 1') })

t.test('errors the patch wrote are the body\'s; errors it left as stored are the stored state\'s', async (t) => {
  t.equal(verdict({ name: 'a' }, { rating: 2 }), undefined)
  t.match(verdict({ name: 'a', rating: 1.5 }, { name: 'b' }), { code: 'VERSO_STORED_STATE_INVALID', statusCode: 409, extra: { stored_fields: [{ path: '/rating', value: 1.5 }] } })
  t.match(verdict({ name: 'a', rating: 1.5 }, { rating: 'x' }), { code: 'VERSO_VALIDATION_FAILED', errors: [{ path: '/body/rating' }] })
  t.match(verdict({ name: 'a', rating: 1.5 }, { name: '', note: null }), { code: 'VERSO_VALIDATION_FAILED', errors: [{ path: '/body/name', message: 'must NOT have fewer than 1 characters' }] }, 'a body mistake wins, and names the body only')
  t.same(verdict({ rating: 1 }, { rating: 2 }).extra.stored_fields, [{ path: '/name', message: 'is required' }], 'a required field the stored entity lacks')
  t.equal(verdict({ name: 'a' }, { name: null }).errors[0].path, '/body/name', 'removing a required field is the patch\'s mistake')
})

t.test('inside objects: the patch owns what it names, and what it replaced whole', async (t) => {
  const stored = { name: 'a', address: { city: 'Leeds', zip: 'LS1' } }
  t.match(verdict(stored, { address: { city: 'York' } }).extra.stored_fields, [{ path: '/address/zip', value: 'LS1' }], 'a merged member the patch did not name')
  t.match(verdict(stored, { address: { zip: 'X' } }).errors, [{ path: '/body/address/zip' }])
  t.match(verdict({ name: 'a', address: ['Leeds'] }, { name: 'b' }).extra.stored_fields, [{ path: '/address', value: ['Leeds'] }], 'an object stored as a list')
  t.equal(verdict({ name: 'a', address: ['Leeds'] }, { address: { city: 'York' } }), undefined, 'replaced by an object: valid')
  t.same(verdict({ name: 'a', note: 'text' }, { name: 'b' }).extra.stored_fields, [{ path: '/note', message: 'must be object', value: 'text' }], 'one message per stored field')
})
