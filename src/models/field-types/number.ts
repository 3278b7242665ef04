import { Type, type TSchema } from 'typebox'
import { ALL_OPERATORS, declaration, marshalled, type FieldFilter, type FieldType } from './field-type.js'

const keywords = (value: TSchema): Record<string, TSchema> => ({
  enum: Type.Optional(Type.Array(value, { minItems: 1 })),
  const: Type.Optional(value),
  minimum: Type.Optional(Type.Number()),
  maximum: Type.Optional(Type.Number()),
  exclusiveMinimum: Type.Optional(Type.Number()),
  exclusiveMaximum: Type.Optional(Type.Number()),
  multipleOf: Type.Optional(Type.Number({ exclusiveMinimum: 0 }))
})

function numberFilter (name: 'number' | 'integer'): FieldFilter {
  return {
    operators: new Set(ALL_OPERATORS.filter((op) => op !== 'begins_with')),
    refused: (op, field) => `${op}. works on text; ${field} is ${name}`,
    parse (text) {
      const value = Number(text)
      if (text.trim() === '' || !Number.isFinite(value) || (name === 'integer' && !Number.isInteger(value))) {
        return { error: `must be ${name === 'integer' ? 'an integer' : 'a number'}: "${text.slice(0, 50)}" is not` }
      }
      if (Math.abs(value) >= 1e126 || (value !== 0 && Math.abs(value) < 1e-130)) {
        return { error: `is outside the numbers DynamoDB holds (magnitude 1e-130 to 1e126): "${text.slice(0, 50)}" is` }
      }
      return { value }
    }
  }
}

/** Numbers: N, filtered and ordered by value, a key of type N. */
export const numberField: FieldType = {
  name: 'number',
  declaration: declaration('number', keywords(Type.Number())),
  ...marshalled,
  filter: numberFilter('number'),
  keyType: 'N'
}

/** Whole numbers: as numbers, and a filter value must be whole too. */
export const integerField: FieldType = {
  name: 'integer',
  declaration: declaration('integer', keywords(Type.Integer())),
  ...marshalled,
  filter: numberFilter('integer'),
  keyType: 'N'
}
