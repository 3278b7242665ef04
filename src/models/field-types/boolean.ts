import { Type } from 'typebox'
import { declaration, marshalled, type FieldType } from './field-type.js'

/** true or false: BOOL; filtered for (in)equality and presence only; DynamoDB keys cannot be BOOL. */
export const booleanField: FieldType = {
  name: 'boolean',
  declaration: declaration('boolean', { enum: Type.Optional(Type.Array(Type.Boolean(), { minItems: 1 })), const: Type.Optional(Type.Boolean()) }),
  ...marshalled,
  filter: {
    operators: new Set(['eq', 'ne', 'exists', 'in']),
    refused: () => 'is true or false: use eq, ne, in or exists',
    parse (text) {
      if (text !== 'true' && text !== 'false') return { error: `must be true or false: "${text.slice(0, 50)}" is not` }
      return { value: text === 'true' }
    }
  }
}
