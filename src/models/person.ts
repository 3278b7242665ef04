import { Type } from 'typebox'
import { defineModel } from './define.js'

export const Person = defineModel({
  name: 'Person',
  description: 'A person (the seed example of Rococo).',
  schema: Type.Object({
    first_name: Type.String({ minLength: 1, maxLength: 200, examples: ['Ada'] }),
    last_name: Type.String({ minLength: 1, maxLength: 200, examples: ['Lovelace'] }),
    age: Type.Optional(Type.Integer({ minimum: 0, maximum: 200, examples: [36] })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Free-form JSON object, stored as JSON text', examples: [{ team: 'engines' }] }))
  }, { additionalProperties: false }),
  indexes: [{ name: 'last_name', hash: 'last_name' }],
  example: { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines' } }
})
