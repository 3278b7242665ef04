import t from 'tap'
import { Type } from 'typebox'
import { defineModel } from '../../src/models/define.js'
import { Book } from '../../src/models/book.js'
import { Person } from '../../src/models/person.js'

t.test('one declaration gives the table, path and field kinds', async (t) => {
  t.equal(Person.tableName, 'person')
  t.equal(Person.path, 'person')
  t.same([...Person.jsonFields], ['metadata'], 'objects are JSON text')
  t.same([...Book.scalarFields].sort(), ['author', 'rating', 'status', 'title'], 'enums are scalars')
  const Role = defineModel({ name: 'PersonOrganizationRole', schema: Type.Object({ role: Type.String() }), example: { role: 'x' } })
  t.equal(Role.tableName, 'personorganizationrole', 'lower-cased as Rococo does')
})

t.test('declarations that could not work are refused at start', async (t) => {
  const bad = (options: Record<string, unknown>): void => { defineModel({ name: 'X', schema: Type.Object({ a: Type.String() }), example: { a: 'x' }, ...options } as never) }
  t.throws(() => { bad({ name: 'bad name' }) }, /model name/)
  t.throws(() => { bad({ path: 'docs' }) }, /path/)
  for (const path of ['console', 'asyncapi.json', 'health', 'openapi.json']) t.throws(() => { bad({ path }) }, /path/, path)
  t.throws(() => { bad({ schema: Type.Object({ version: Type.String() }) }) }, /managed by verso/)
  t.throws(() => { bad({ schema: Type.Object({ limit: Type.Integer() }) }) }, /reserved/)
  t.throws(() => { bad({ indexes: [{ name: 'idx', hash: 'nope' }] }) }, /not a declared text or number field/)
  t.throws(() => { bad({ indexes: [{ name: 'i', hash: 'a' }] }) }, /index name/)
})
