import { Type, type Static, type TSchema } from 'typebox'

/**
 * The shape of a runtime model file (MODELS_DIR/*.json), as JSON Schema written with TypeBox. The fields of
 * `schema.properties` are checked one by one against FIELD_SCHEMAS (src/models/load-models.ts), so that an
 * error points at the very keyword.
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

const Annotations = {
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  examples: Type.Optional(Type.Array(Type.Unknown())),
  default: Type.Optional(Type.Unknown()),
  deprecated: Type.Optional(Type.Boolean())
}
const Count = Type.Optional(Type.Integer({ minimum: 0 }))
const field = (type: string, keywords: Record<string, TSchema>): TSchema =>
  Type.Object({ type: Type.Literal(type), ...Annotations, ...keywords }, { additionalProperties: false })
const numeric = (value: TSchema): Record<string, TSchema> => ({
  enum: Type.Optional(Type.Array(value, { minItems: 1 })),
  const: Type.Optional(value),
  minimum: Type.Optional(Type.Number()),
  maximum: Type.Optional(Type.Number()),
  exclusiveMinimum: Type.Optional(Type.Number()),
  exclusiveMaximum: Type.Optional(Type.Number()),
  multipleOf: Type.Optional(Type.Number({ exclusiveMinimum: 0 }))
})
const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()])

/**
 * The JSON Schema subset a field may use, by `type` (`enum` for a field without one). It is what item mapping
 * (S, N, BOOL, JSON text in S, L), filters and indexes can handle; anything else (`$ref`, `oneOf`, `nullable`,
 * type lists, `null`) is refused. `properties` and `items` are checked again, field by field.
 */
export const FIELD_SCHEMAS: Record<string, TSchema> = {
  string: field('string', {
    enum: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    const: Type.Optional(Type.String()),
    minLength: Count,
    maxLength: Count,
    pattern: Type.Optional(Type.String()),
    format: Type.Optional(Type.String())
  }),
  number: field('number', numeric(Type.Number())),
  integer: field('integer', numeric(Type.Integer())),
  boolean: field('boolean', { enum: Type.Optional(Type.Array(Type.Boolean(), { minItems: 1 })), const: Type.Optional(Type.Boolean()) }),
  object: field('object', {
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    required: Type.Optional(Type.Array(Type.String(), { uniqueItems: true })),
    additionalProperties: Type.Optional(Type.Boolean()),
    minProperties: Count,
    maxProperties: Count
  }),
  array: field('array', { items: Type.Optional(Type.Unknown()), minItems: Count, maxItems: Count, uniqueItems: Type.Optional(Type.Boolean()) }),
  enum: Type.Object({
    ...Annotations,
    enum: Type.Optional(Type.Array(Scalar, { minItems: 1 })),
    const: Type.Optional(Scalar)
  }, { additionalProperties: false })
}

export const FIELD_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array'] as const
