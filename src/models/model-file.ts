import { Type, type Static } from 'typebox'

/**
 * The shape of a runtime model file (MODELS_DIR/*.json), as JSON Schema written with TypeBox. The fields of
 * `schema.properties` are checked one by one against the declaration of their field type (src/models/field-types/),
 * so that an error points at the very keyword.
 */
export const ModelFile = Type.Object({
  $schema: Type.Optional(Type.String()),
  name: Type.String({ description: 'Class-style name, as Rococo: the table is the lower-cased name' }),
  versioned: Type.Optional(Type.Boolean()),
  allowExtra: Type.Optional(Type.Boolean()),
  allow_extra: Type.Optional(Type.Boolean()),
  path: Type.Optional(Type.String()),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  schema: Type.Object({
    $schema: Type.Optional(Type.String()),
    type: Type.Optional(Type.Literal('object')),
    title: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    properties: Type.Record(Type.String(), Type.Unknown()),
    required: Type.Optional(Type.Array(Type.String(), { uniqueItems: true })),
    additionalProperties: Type.Optional(Type.Boolean())
  }, { additionalProperties: false }),
  // DynamoDB allows 20 global secondary indexes per table.
  indexes: Type.Optional(Type.Array(Type.Object({
    name: Type.String(),
    hash: Type.String(),
    range: Type.Optional(Type.String())
  }, { additionalProperties: false }), { maxItems: 20 })),
  example: Type.Record(Type.String(), Type.Unknown())
}, { additionalProperties: false })

export type ModelFileShape = Static<typeof ModelFile>
