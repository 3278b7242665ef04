import { Type } from 'typebox'
import { defineModel, type Model } from '../../src/models/define.js'
import { models as builtInModels } from '../../src/models/index.js'
import type { RococoModel } from './rococo.js'

/*
 * The same entities declared twice: as the Rococo dataclasses a Python service would have, and as verso models.
 *
 *   @dataclass(kw_only=True)
 *   class Book(VersionedModel):
 *       title: str = None
 *       author: str = None
 *       status: str = "to_read"
 *       rating: int = None
 */
export const RococoBook: RococoModel = { name: 'Book', fields: { title: 'str', author: 'str', status: 'str', rating: 'int' } }
/** `class Person(VersionedModel): first_name: str; last_name: str; age: int; metadata: dict` (all `= None`). */
export const RococoPerson: RococoModel = { name: 'Person', fields: { first_name: 'str', last_name: 'str', age: 'int', metadata: 'dict' } }
/** `class Article(VersionedModel): title: str; tags: list; score: float; published: bool; meta: dict; notes: dict`. */
export const RococoArticle: RococoModel = { name: 'Article', fields: { title: 'str', tags: 'list', score: 'float', published: 'bool', meta: 'dict', notes: 'dict' } }

const AnyObject = Type.Record(Type.String(), Type.Unknown())

/** verso's Article: every Rococo attribute type, and a dict field that may also be null. */
export const Article = defineModel({
  name: 'Article',
  schema: Type.Object({
    title: Type.String({ minLength: 1 }),
    tags: Type.Optional(Type.Array(Type.Unknown())),
    score: Type.Optional(Type.Number()),
    published: Type.Optional(Type.Boolean()),
    meta: Type.Optional(AnyObject),
    notes: Type.Optional(Type.Union([AnyObject, Type.Null()]))
  }, { additionalProperties: false }),
  example: { title: 'On interoperability' }
})

export const interopModels: readonly Model[] = [...builtInModels, Article]
