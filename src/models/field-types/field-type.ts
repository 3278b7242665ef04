import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { convertToAttr, convertToNative } from '@aws-sdk/util-dynamodb'
import { Type, type TSchema } from 'typebox'

/** What a list filter may ask of a field (the `op.` of `field=op.value`). */
export type Operator = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'begins_with' | 'between' | 'in' | 'exists'
export type Scalar = string | number | boolean
/** A field's JSON Schema as a model declares it. */
export type FieldSchema = Record<string, unknown>
/** Stops a model file's check: a JSON Pointer into the file and why. */
export type Fail = (pointer: string, reason: string) => never

/** How a list filter compares a field: the operators it takes and how query-string text becomes a value. */
export interface FieldFilter {
  readonly operators: ReadonlySet<Operator>
  /** Why an operator outside `operators` is refused, as the 400 says it. */
  refused: (op: Operator, field: string) => string
  /** Query-string text → the value compared, or why it is not one (the field's schema gives its enum). */
  parse: (text: string, schema: FieldSchema) => { value: Scalar } | { error: string }
}

/** One field type: everything verso does differently for a field because of its JSON Schema `type`. */
export interface FieldType {
  /** The JSON Schema `type` it serves. */
  readonly name: string
  /** The keywords a model file may write on such a field; anything else is refused, naming the keyword. */
  readonly declaration: TSchema
  /** Checks of a model file's declaration beyond its keywords; `checkField` checks a nested field's declaration. */
  checkDeclaration?: (schema: FieldSchema, at: string, fail: Fail, checkField: (schema: unknown, at: string) => void) => void
  /** A value as the DynamoDB attribute Rococo/PynamoDB store it, and back. */
  toAttribute: (value: unknown) => AttributeValue
  fromAttribute: (attribute: AttributeValue) => unknown
  /** Stored as JSON text in S (PynamoDB's JSONAttribute) rather than as a DynamoDB type of its own. */
  readonly jsonText?: true
  /** How list filters compare it; absent when it cannot be filtered on. */
  readonly filter?: FieldFilter
  /** Its attribute type as the key of a secondary index; absent when it cannot be one. */
  readonly keyType?: 'S' | 'N'
}

// Numbers beyond 2^53 are stored as the client wrote them (marshall would throw, a 500); null members of a
// map or list stay (NULL), as Rococo writes them.
const MARSHALL = { removeUndefinedValues: true, allowImpreciseNumbers: true, convertEmptyValues: false }
const UNMARSHALL = { wrapNumbers: (text: string) => Number(text) }

/** Any value as marshall stores it (S, N, BOOL, L, M): the mapping of every type but those stored otherwise, and of undeclared fields. */
export const marshalled = {
  toAttribute: (value: unknown): AttributeValue => convertToAttr(value, MARSHALL),
  fromAttribute: (attribute: AttributeValue): unknown => convertToNative(attribute, UNMARSHALL)
}

export const ALL_OPERATORS: readonly Operator[] = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'begins_with', 'between', 'in', 'exists']

/** Keywords every field may carry: they describe it and change nothing verso stores or checks. */
const ANNOTATIONS = {
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  examples: Type.Optional(Type.Array(Type.Unknown())),
  default: Type.Optional(Type.Unknown()),
  deprecated: Type.Optional(Type.Boolean())
}
export const COUNT = Type.Optional(Type.Integer({ minimum: 0 }))

/** The declaration of a field of `type` with these keywords (besides the annotations), nothing more. */
export const declaration = (type: string, keywords: Record<string, TSchema>): TSchema =>
  Type.Object({ type: Type.Literal(type), ...ANNOTATIONS, ...keywords }, { additionalProperties: false })

/** A field without a type: its `enum` or `const` values, all of one JSON type, name the type. */
export const UNTYPED_DECLARATION: TSchema = Type.Object({
  ...ANNOTATIONS,
  enum: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { minItems: 1 })),
  const: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Boolean()]))
}, { additionalProperties: false })

/** A JSON Pointer segment for a member name (RFC 6901). */
export const pointerSegment = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1')
