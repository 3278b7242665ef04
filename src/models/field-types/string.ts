import { Type } from 'typebox'
import { bodyAjv } from '../validator.js'
import { ALL_OPERATORS, COUNT, declaration, marshalled, type FieldType } from './field-type.js'

/** Text: S, filtered with every operator, a key of type S. */
export const stringField: FieldType = {
  name: 'string',
  declaration: declaration('string', {
    enum: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    const: Type.Optional(Type.String()),
    minLength: COUNT,
    maxLength: COUNT,
    pattern: Type.Optional(Type.String()),
    format: Type.Optional(Type.String())
  }),
  checkDeclaration (schema, at, fail) {
    if (typeof schema.pattern === 'string') {
      try {
        // Ajv compiles patterns as unicode regular expressions.
        RegExp(schema.pattern, 'u')
      } catch (err) {
        fail(`${at}/pattern`, `is not a valid regular expression (${(err as Error).message})`)
      }
    }
    if (typeof schema.format === 'string' && bodyAjv.formats[schema.format] === undefined) {
      fail(`${at}/format`, `must be one of ${Object.keys(bodyAjv.formats).join(', ')}`)
    }
  },
  ...marshalled,
  filter: {
    operators: new Set(ALL_OPERATORS),
    refused: (op) => `${op}. is not an operator for text`,
    parse (text, schema) {
      const values = schema.enum as unknown[] | undefined
      if (values !== undefined && !values.includes(text)) return { error: `must be one of ${values.map(String).join(', ')}: "${text.slice(0, 50)}" is not` }
      return { value: text }
    }
  },
  keyType: 'S'
}
