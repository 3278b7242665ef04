import { Type } from 'typebox'
import { COUNT, declaration, marshalled, type FieldType } from './field-type.js'

/** Lists: L, as Rococo's `list`; members declared as fields are. Neither filtered on nor a key. */
export const arrayField: FieldType = {
  name: 'array',
  declaration: declaration('array', { items: Type.Optional(Type.Unknown()), minItems: COUNT, maxItems: COUNT, uniqueItems: Type.Optional(Type.Boolean()) }),
  checkDeclaration (schema, at, _fail, checkField) {
    if (schema.items !== undefined) checkField(schema.items, `${at}/items`)
  },
  ...marshalled
}
