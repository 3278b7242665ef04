import { Type, type TSchema } from 'typebox'
import { ALL_OPERATORS, declaration, marshalled, type FieldType } from './field-type.js'

/** A numeric type: N, filtered and ordered by value (no begins_with), a key of type N. */
function numericField (name: 'number' | 'integer', value: TSchema): FieldType {
  return {
    name,
    declaration: declaration(name, {
      enum: Type.Optional(Type.Array(value, { minItems: 1 })),
      const: Type.Optional(value),
      minimum: Type.Optional(Type.Number()),
      maximum: Type.Optional(Type.Number()),
      exclusiveMinimum: Type.Optional(Type.Number()),
      exclusiveMaximum: Type.Optional(Type.Number()),
      multipleOf: Type.Optional(Type.Number({ exclusiveMinimum: 0 }))
    }),
    ...marshalled,
    filter: {
      operators: new Set(ALL_OPERATORS.filter((op) => op !== 'begins_with')),
      refused: (op, field) => `${op}. works on text; ${field} is ${name}`,
      parse (text) {
        const number = Number(text)
        if (text.trim() === '' || !Number.isFinite(number) || (name === 'integer' && !Number.isInteger(number))) {
          return { error: `must be ${name === 'integer' ? 'an integer' : 'a number'}: "${text.slice(0, 50)}" is not` }
        }
        if (Math.abs(number) >= 1e126 || (number !== 0 && Math.abs(number) < 1e-130)) {
          return { error: `is outside the numbers DynamoDB holds (magnitude 1e-130 to 1e126): "${text.slice(0, 50)}" is` }
        }
        return { value: number }
      }
    },
    keyType: 'N'
  }
}

/** Numbers. */
export const numberField = numericField('number', Type.Number())

/** Whole numbers: as numbers, and a filter value must be whole too. */
export const integerField = numericField('integer', Type.Integer())
