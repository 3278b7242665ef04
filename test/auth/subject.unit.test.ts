import t from 'tap'
import { callerIdOf } from '../../src/auth/subject.js'
import { scopesOfClaims, hasScope } from '../../src/auth/scopes.js'

t.test('subjects to caller ids', async (t) => {
  t.equal(callerIdOf('3f2c9a4e-8d1b-4c7a-9e6f-0a1b2c3d4e5f'), '3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f', 'a UUID loses its dashes')
  t.equal(callerIdOf('3F2C9A4E-8D1B-4C7A-9E6F-0A1B2C3D4E5F'), '3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f', 'and is lowercased')
  t.equal(callerIdOf('3F2C9A4E8D1B4C7A9E6F0A1B2C3D4E5F'), '3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f', '32 hex digits are lowercased')
  t.equal(callerIdOf('auth0|6f1c2a'), 'auth0|6f1c2a', 'other subjects are kept as given')
  t.equal(callerIdOf('ada@example.com'), 'ada@example.com')
  t.equal(callerIdOf('3f2c9a4e-8d1b4c7a9e6f-0a1b2c3d4e5f'), '3f2c9a4e-8d1b4c7a9e6f-0a1b2c3d4e5f', 'not a UUID form: as given')
  t.equal(callerIdOf('x'.repeat(128)), 'x'.repeat(128))
  for (const bad of ['', 'x'.repeat(129), 'two words', 'tab\there', 'quote"', 'ümlaut', 'new\nline', 42, null, undefined, ['a']]) {
    t.equal(callerIdOf(bad), undefined, `${JSON.stringify(bad)} is refused`)
  }
})

t.test('scopes of JWT claims and what they grant', async (t) => {
  t.same([...scopesOfClaims({ scope: 'person:read  book:write' })].sort(), ['book:write', 'person:read'])
  t.same([...scopesOfClaims({ scp: ['person:read', 7] })], ['person:read'])
  t.same([...scopesOfClaims({ scp: 'a:read b:read' })].sort(), ['a:read', 'b:read'], 'Entra ID writes scp as a string')
  t.same([...scopesOfClaims({ scope: 'a:read', scp: ['b:write'] })].sort(), ['a:read', 'b:write'])
  t.same([...scopesOfClaims({})], [])
  const granted = new Set(['person:read', 'book:write'])
  t.ok(hasScope(granted, 'person', 'read'))
  t.notOk(hasScope(granted, 'person', 'write'))
  t.ok(hasScope(granted, 'book', 'read'), 'write implies read')
  t.notOk(hasScope(new Set(['*:read']), 'book', 'write'))
  t.ok(hasScope(new Set(['*:write']), 'book', 'read'))
})
