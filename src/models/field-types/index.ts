import type { TSchema } from 'typebox'
import { arrayField } from './array.js'
import { booleanField } from './boolean.js'
import type { FieldType } from './field-type.js'
import { integerField, numberField } from './number.js'
import { objectField } from './object.js'
import { stringField } from './string.js'

export type { Fail, FieldFilter, FieldSchema, FieldType, Operator, Scalar } from './field-type.js'
export { marshalled, pointerSegment, UNTYPED_DECLARATION } from './field-type.js'
export { checkObjectDeclaration } from './object.js'

/** The field types verso serves, by JSON Schema `type`, in the order errors list them. Adding one is adding it here. */
export const FIELD_TYPES: readonly FieldType[] = [stringField, numberField, integerField, booleanField, objectField, arrayField]

const byName = new Map(FIELD_TYPES.map((type) => [type.name, type]))

/** The field type of a `type` name, if verso serves it. */
export const fieldTypeNamed = (name: string): FieldType | undefined => byName.get(name)

/** The JSON type of a field's schema, seeing through `enum` and `const`. */
export function schemaType (schema: TSchema): string | undefined {
  const { type, enum: values, const: constant } = schema as { type?: unknown, enum?: unknown[], const?: unknown }
  if (typeof type === 'string') return type
  const samples = values ?? (constant === undefined ? [] : [constant])
  const kinds = new Set(samples.map((v) => typeof v))
  return kinds.size === 1 && !kinds.has('object') ? [...kinds][0] : undefined
}

/**
 * An object field that may also be null (`type: ['object', 'null']`, or `anyOf`/`oneOf` of objects and null). In
 * Rococo it is still a `dict`, which PynamoDB's JSONAttribute stores as JSON text in S and refuses to read from
 * anything else; null is left out of the item like every null, so its stored values are objects only.
 */
function isNullableObject (schema: TSchema): boolean {
  const { type, anyOf, oneOf } = schema as { type?: unknown, anyOf?: TSchema[], oneOf?: TSchema[] }
  const members = Array.isArray(type) ? type.map((t) => ({ type: t }) as TSchema) : anyOf ?? oneOf
  if (members === undefined) return false
  const values = members.filter((m) => (m as { type?: unknown }).type !== 'null')
  return values.length > 0 && values.length < members.length && values.every((m) => schemaType(m) === 'object' || isNullableObject(m))
}

/** The field type of a declared field's schema; none for schemas verso maps only generically (null, unions of other types). */
export function fieldTypeOf (schema: TSchema): FieldType | undefined {
  if (isNullableObject(schema)) return objectField
  const name = schemaType(schema)
  return name === undefined ? undefined : byName.get(name)
}
