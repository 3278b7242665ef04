import { Type } from 'typebox'
import { defineModel } from './define.js'

export const Book = defineModel({
  name: 'Book',
  description: 'A book on a reading list (the seed example app).',
  schema: Type.Object({
    title: Type.String({ minLength: 1, maxLength: 500, examples: ['The Left Hand of Darkness'] }),
    author: Type.String({ minLength: 1, maxLength: 200, examples: ['Ursula K. Le Guin'] }),
    status: Type.Optional(Type.Enum(['to_read', 'reading', 'finished'], { default: 'to_read', description: 'Reading status' })),
    rating: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 }))
  }, { additionalProperties: false }),
  indexes: [{ name: 'author', hash: 'author', range: 'title' }],
  example: { title: 'The Left Hand of Darkness', author: 'Ursula K. Le Guin', status: 'reading', rating: 5 }
})
