import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { Type } from 'typebox'
import { COUNT, declaration, marshalled, pointerSegment, type Fail, type FieldSchema, type FieldType } from './field-type.js'

/** Nested fields are declared as fields are, and `required` names only declared ones (the model's own schema too). */
export function checkObjectDeclaration (schema: FieldSchema, at: string, fail: Fail, checkField: (schema: unknown, at: string) => void): void {
  const properties = (schema.properties ?? {}) as Record<string, unknown>
  for (const [name, field] of Object.entries(properties)) checkField(field, `${at}/properties/${pointerSegment(name)}`)
  ;(schema.required as string[] | undefined)?.forEach((name, i) => {
    if (!Object.hasOwn(properties, name)) fail(`${at}/required/${i}`, `names "${name}", which is not in properties`)
  })
}

/**
 * Objects: JSON text in S, as Rococo's `dict` (PynamoDB's JSONAttribute) stores them and refuses to read from
 * anything else. Neither filtered on nor a key.
 */
export const objectField: FieldType = {
  name: 'object',
  declaration: declaration('object', {
    properties: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    required: Type.Optional(Type.Array(Type.String(), { uniqueItems: true })),
    additionalProperties: Type.Optional(Type.Boolean()),
    minProperties: COUNT,
    maxProperties: COUNT
  }),
  checkDeclaration: checkObjectDeclaration,
  toAttribute: (value: unknown): AttributeValue => ({ S: JSON.stringify(value) }),
  fromAttribute (attribute: AttributeValue): unknown {
    const value = marshalled.fromAttribute(attribute)
    if (typeof value !== 'string') return value
    try {
      return JSON.parse(value)
    } catch {
      // Not JSON: another writer stored plain text; hand it back untouched rather than fail the read.
      return value
    }
  },
  jsonText: true
}
