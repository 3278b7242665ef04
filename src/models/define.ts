import type { TObject, TSchema, Static } from 'typebox'
import { RESERVED_MODEL_PATHS } from '../open-paths.js'

/**
 * A global secondary index on the main table, projecting every attribute (a list page is then one call). It
 * holds only items that have `hash` (and `range`), so a list reads it with a Query only when the filter names
 * them all: equality on `hash`, and a key condition on `range` (planQuery in src/repository/query.ts).
 */
export interface ModelIndexDefinition {
  name: string
  hash: string
  range?: string
}

export interface ModelOptions<S extends TObject> {
  /** Class-style name, as Rococo's model class: `Person`, `PersonOrganizationRole`. */
  name: string
  /** The entity's own fields; the server-managed fields are added by verso. */
  schema: S
  /** Rococo's VersionedModel (true, the default) or BaseModel (false). */
  versioned?: boolean
  /** Rococo's allow_extra: unknown fields are stored flat beside the declared ones. */
  allowExtra?: boolean
  /** URL path segment; defaults to the lower-cased name. */
  path?: string
  description?: string
  indexes?: ModelIndexDefinition[]
  /** A valid entity body, used as the OpenAPI example. */
  example: Static<S>
}

export interface Model<S extends TObject = TObject> {
  readonly name: string
  readonly schema: S
  readonly versioned: boolean
  readonly allowExtra: boolean
  readonly path: string
  /** Table name without TABLE_PREFIX: the lower-cased name, as Rococo derives it. */
  readonly tableName: string
  readonly description: string
  readonly indexes: readonly ModelIndexDefinition[]
  readonly example: Record<string, unknown>
  /** Fields stored as JSON text in an S attribute (PynamoDB JSONAttribute): the declared objects. */
  readonly jsonFields: ReadonlySet<string>
  /** Declared fields that can be compared with a plain equality filter. */
  readonly scalarFields: ReadonlySet<string>
}

export const SERVER_MANAGED_FIELDS = ['entity_id', 'version', 'previous_version', 'active', 'changed_by_id', 'changed_on'] as const
/** An entity's own fields: everything but the server-managed ones. */
export function ownFields<T extends Record<string, unknown>> (entity: T): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...entity }
  for (const key of SERVER_MANAGED_FIELDS) delete fields[key]
  return fields
}

/** Query-string parameters of the list and read routes: a field of that name could not be filtered on. */
export const RESERVED_FIELD_NAMES = ['limit', 'cursor', 'include_deleted', 'as_of', 'fields', 'order', 'sort'] as const

const NAME = /^[A-Za-z][A-Za-z0-9]*$/
const PATH = /^[a-z][a-z0-9-]*$/
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/

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

export function defineModel<S extends TObject> (options: ModelOptions<S>): Model<S> {
  const { name, schema } = options
  if (!NAME.test(name)) throw new Error(`model name "${name}" must be letters and digits, starting with a letter`)
  const path = options.path ?? name.toLowerCase()
  // Paths verso serves itself: a model there would collide with them at start.
  if (!PATH.test(path) || path.startsWith('_') || RESERVED_MODEL_PATHS.has(path)) {
    throw new Error(`model ${name}: path "${path}" is not allowed`)
  }
  const jsonFields = new Set<string>()
  const scalarFields = new Set<string>()
  for (const [field, fieldSchema] of Object.entries(schema.properties)) {
    if (!FIELD.test(field)) throw new Error(`model ${name}: field name "${field}" is not allowed`)
    if ((SERVER_MANAGED_FIELDS as readonly string[]).includes(field)) throw new Error(`model ${name}: field "${field}" is managed by verso`)
    if ((RESERVED_FIELD_NAMES as readonly string[]).includes(field)) throw new Error(`model ${name}: field name "${field}" is reserved for query parameters`)
    const type = schemaType(fieldSchema)
    if (type === 'object' || isNullableObject(fieldSchema)) jsonFields.add(field)
    else if (type === 'string' || type === 'number' || type === 'integer' || type === 'boolean') scalarFields.add(field)
  }
  for (const index of options.indexes ?? []) {
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(index.name)) throw new Error(`model ${name}: index name "${index.name}" must be 3-255 letters, digits, _ . -`)
    for (const field of [index.hash, index.range]) {
      if (field === undefined) continue
      const type = scalarFields.has(field) ? schemaType(schema.properties[field] as TSchema) : undefined
      if (type !== 'string' && type !== 'number' && type !== 'integer') {
        throw new Error(`model ${name}: index ${index.name} names "${field}", which is not a declared text or number field`)
      }
    }
  }
  return {
    name,
    schema,
    versioned: options.versioned ?? true,
    allowExtra: options.allowExtra ?? false,
    path,
    tableName: name.toLowerCase(),
    description: options.description ?? `${name} entities`,
    indexes: options.indexes ?? [],
    example: options.example as Record<string, unknown>,
    jsonFields,
    scalarFields
  }
}
