import t from 'tap'
import { Type, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { FIELD_TYPES, fieldTypeNamed, fieldTypeOf, marshalled, type FieldType, type Scalar } from '../../src/models/field-types/index.js'

const named = (name: string): FieldType => {
  const type = fieldTypeNamed(name)
  if (type === undefined) throw new Error(`no field type ${name}`)
  return type
}
const [string, number, integer, boolean, object, array] = ['string', 'number', 'integer', 'boolean', 'object', 'array'].map(named) as [FieldType, FieldType, FieldType, FieldType, FieldType, FieldType]

/** What checkDeclaration refuses, as "pointer: reason", or undefined when it accepts; nested declarations are collected. */
function declarationProblem (type: FieldType, schema: Record<string, unknown>): { problem?: string, nested: string[] } {
  const nested: string[] = []
  try {
    type.checkDeclaration?.(schema, '/f', (pointer, reason) => { throw new Error(`${pointer}: ${reason}`) }, (_schema, at) => { nested.push(at) })
  } catch (err) {
    return { problem: (err as Error).message, nested }
  }
  return { nested }
}

function filterOf (type: FieldType): NonNullable<FieldType['filter']> {
  if (type.filter === undefined) throw new Error(`${type.name} has no filter`)
  return type.filter
}

t.test('the registry: one entry per JSON Schema type, found from a declared schema', async (t) => {
  t.strictSame(FIELD_TYPES.map((f) => f.name), ['string', 'number', 'integer', 'boolean', 'object', 'array'], 'in the order errors list them')
  t.equal(fieldTypeNamed('money'), undefined)
  t.equal(fieldTypeNamed('null'), undefined)
  const cases: Array<[string, TSchema, FieldType | undefined]> = [
    ['text', Type.String(), string],
    ['an enum of text', Type.Enum(['a', 'b']), string],
    ['an enum of numbers', Type.Enum([1, 2]), number],
    ['a const boolean', Type.Literal(true), boolean],
    ['a number', Type.Number(), number],
    ['an integer', Type.Integer(), integer],
    ['a boolean', Type.Boolean(), boolean],
    ['an object', Type.Object({ a: Type.String() }), object],
    ['a record', Type.Record(Type.String(), Type.Unknown()), object],
    ['an object or null (union)', Type.Union([Type.Object({}), Type.Null()]), object],
    ['an object or null (type list)', Type.Unsafe({ type: ['object', 'null'] }), object],
    ['an array', Type.Array(Type.String()), array],
    ['text or null', Type.Union([Type.String(), Type.Null()]), undefined],
    ['text or an object', Type.Union([Type.String(), Type.Object({})]), undefined],
    ['anything', Type.Unknown(), undefined],
    ['an enum of mixed values', Type.Unsafe({ enum: ['a', 1] }), undefined]
  ]
  for (const [what, schema, expected] of cases) t.equal(fieldTypeOf(schema), expected, what)
})

t.test('declarations: the keywords each type allows, and the checks beyond them', async (t) => {
  t.ok(Value.Check(string.declaration, { type: 'string', minLength: 1, maxLength: 9, pattern: '^a', format: 'email', enum: ['a'], description: 'x' }))
  t.notOk(Value.Check(string.declaration, { type: 'string', minimum: 1 }), 'no number keywords on text')
  t.notOk(Value.Check(string.declaration, { type: 'string', minLength: -1 }), 'counts are not negative')
  t.ok(Value.Check(number.declaration, { type: 'number', minimum: 0.5, exclusiveMaximum: 9, multipleOf: 0.5 }))
  t.notOk(Value.Check(number.declaration, { type: 'number', pattern: 'x' }), 'no pattern on numbers')
  t.notOk(Value.Check(number.declaration, { type: 'number', multipleOf: 0 }), 'multipleOf is above zero')
  t.ok(Value.Check(integer.declaration, { type: 'integer', enum: [1, 2] }))
  t.notOk(Value.Check(integer.declaration, { type: 'integer', enum: [1.5] }), 'an integer enum holds integers')
  t.ok(Value.Check(boolean.declaration, { type: 'boolean', const: true, default: false }))
  t.notOk(Value.Check(boolean.declaration, { type: 'boolean', enum: ['yes'] }))
  t.ok(Value.Check(object.declaration, { type: 'object', properties: {}, required: [], additionalProperties: true, maxProperties: 3 }))
  t.notOk(Value.Check(object.declaration, { type: 'object', patternProperties: {} }))
  t.ok(Value.Check(array.declaration, { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true }))
  t.notOk(Value.Check(array.declaration, { type: 'array', contains: {} }))
  t.notOk(Value.Check(string.declaration, { type: 'number' }), 'a declaration is for its own type only')

  t.strictSame(declarationProblem(string, { type: 'string', pattern: '^[a-z]+$', format: 'date' }), { nested: [] })
  t.match(declarationProblem(string, { type: 'string', pattern: '(' }).problem, /^\/f\/pattern: is not a valid regular expression/)
  t.match(declarationProblem(string, { type: 'string', format: 'colour' }).problem, /^\/f\/format: must be one of .*date-time/)
  t.strictSame(declarationProblem(object, { type: 'object', properties: { a: {}, 'b/c': {} }, required: ['a'] }), { nested: ['/f/properties/a', '/f/properties/b~1c'] })
  t.equal(declarationProblem(object, { type: 'object', properties: { a: {} }, required: ['a', 'z'] }).problem, '/f/required/1: names "z", which is not in properties')
  t.strictSame(declarationProblem(array, { type: 'array', items: { type: 'string' } }), { nested: ['/f/items'] })
  t.strictSame(declarationProblem(array, { type: 'array' }), { nested: [] })
  t.equal(number.checkDeclaration, undefined, 'numbers need no check beyond their keywords')
})

t.test('attribute mapping: each type as Rococo stores it, and back', async (t) => {
  const cases: Array<[FieldType, unknown, unknown]> = [
    [string, 'Ada', { S: 'Ada' }],
    [string, '', { S: '' }],
    [number, 0.5, { N: '0.5' }],
    [number, 1e20, { N: '100000000000000000000' }],
    [integer, -3, { N: '-3' }],
    [boolean, false, { BOOL: false }],
    [object, { k: [1, { z: null }] }, { S: '{"k":[1,{"z":null}]}' }],
    [object, {}, { S: '{}' }],
    [array, ['x', 2, { y: true }], { L: [{ S: 'x' }, { N: '2' }, { M: { y: { BOOL: true } } }] }],
    [array, [], { L: [] }]
  ]
  for (const [type, value, attribute] of cases) {
    t.strictSame(type.toAttribute(value), attribute, `${type.name} ${JSON.stringify(value)} is stored as ${JSON.stringify(attribute)}`)
    t.strictSame(type.fromAttribute(type.toAttribute(value)), value, `${type.name} ${JSON.stringify(value)} reads back as written`)
  }
  t.equal(object.fromAttribute({ S: 'not json' }), 'not json', 'text another writer stored in an object field is handed back as it is')
  t.strictSame(object.fromAttribute({ M: { a: { N: '1' } } }), { a: 1 }, 'a map another writer stored is read as a map')
  t.strictSame(string.fromAttribute({ N: '7' }), 7, 'a stored value of another type is read as what it is')
  t.strictSame(marshalled.toAttribute({ a: undefined, b: null }), { M: { b: { NULL: true } } }, 'undeclared values: undefined members left out, null kept')
})

t.test('filter values: parsed by type, bad ones refused with the reason', async (t) => {
  const parse = (type: FieldType, text: string, schema: Record<string, unknown> = { type: type.name }): { value: Scalar } | { error: string } => filterOf(type).parse(text, schema)
  t.strictSame(parse(string, 'Le Guin'), { value: 'Le Guin' })
  t.strictSame(parse(string, ''), { value: '' })
  t.strictSame(parse(string, 'reading', { enum: ['to_read', 'reading'] }), { value: 'reading' })
  t.strictSame(parse(string, 'gone', { enum: ['to_read', 'reading'] }), { error: 'must be one of to_read, reading: "gone" is not' })
  t.strictSame(parse(number, '4.5'), { value: 4.5 })
  t.strictSame(parse(number, '-1e3'), { value: -1000 })
  t.strictSame(parse(number, '40008000000000000000'), { value: 40008000000000000000 }, 'beyond 2^53 but storable')
  for (const text of ['', ' ', 'abc', 'NaN', 'Infinity']) t.strictSame(parse(number, text), { error: `must be a number: "${text}" is not` }, JSON.stringify(text))
  t.strictSame(parse(number, '1e300'), { error: 'is outside the numbers DynamoDB holds (magnitude 1e-130 to 1e126): "1e300" is' })
  t.strictSame(parse(number, '1e-200'), { error: 'is outside the numbers DynamoDB holds (magnitude 1e-130 to 1e126): "1e-200" is' })
  t.strictSame(parse(number, '0'), { value: 0 }, 'zero is not below the smallest magnitude')
  t.strictSame(parse(integer, '7'), { value: 7 })
  t.strictSame(parse(integer, '2.5'), { error: 'must be an integer: "2.5" is not' })
  t.strictSame(parse(boolean, 'true'), { value: true })
  t.strictSame(parse(boolean, 'false'), { value: false })
  t.strictSame(parse(boolean, 'yes'), { error: 'must be true or false: "yes" is not' })
  t.strictSame(parse(string, 'x'.repeat(80), { enum: ['a'] }), { error: `must be one of a: "${'x'.repeat(50)}" is not` }, 'the value is cut at 50 characters')

  t.strictSame([...filterOf(string).operators].sort(), ['begins_with', 'between', 'eq', 'exists', 'gt', 'gte', 'in', 'lt', 'lte', 'ne'])
  for (const type of [number, integer]) {
    t.notOk(filterOf(type).operators.has('begins_with'), `${type.name}: no begins_with`)
    t.ok(filterOf(type).operators.has('between'), `${type.name}: ranges`)
    t.equal(filterOf(type).refused('begins_with', 'age'), `begins_with. works on text; age is ${type.name}`)
  }
  t.strictSame([...filterOf(boolean).operators].sort(), ['eq', 'exists', 'in', 'ne'])
  t.equal(filterOf(boolean).refused('gt', 'done'), 'is true or false: use eq, ne, in or exists')
  t.equal(object.filter, undefined, 'objects are not filtered on')
  t.equal(array.filter, undefined, 'arrays are not filtered on')
})

t.test('key attribute types: text is S, numbers N; the rest cannot be an index key', async (t) => {
  t.strictSame(FIELD_TYPES.map((f) => [f.name, f.keyType]), [
    ['string', 'S'], ['number', 'N'], ['integer', 'N'], ['boolean', undefined], ['object', undefined], ['array', undefined]
  ])
  t.strictSame(FIELD_TYPES.filter((f) => f.jsonText === true).map((f) => f.name), ['object'], 'only objects are JSON text')
})
