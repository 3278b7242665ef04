import type { TObject, Static } from 'typebox'
import { RESERVED_MODEL_PATHS } from '../open-paths.js'
import { fieldTypeOf, type FieldType } from './field-types/index.js'

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
  /** The field type (src/models/field-types/) of each declared field that has one. */
  readonly fieldTypes: ReadonlyMap<string, FieldType>
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
  const fieldTypes = new Map<string, FieldType>()
  for (const [field, fieldSchema] of Object.entries(schema.properties)) {
    if (!FIELD.test(field)) throw new Error(`model ${name}: field name "${field}" is not allowed`)
    if ((SERVER_MANAGED_FIELDS as readonly string[]).includes(field)) throw new Error(`model ${name}: field "${field}" is managed by verso`)
    if ((RESERVED_FIELD_NAMES as readonly string[]).includes(field)) throw new Error(`model ${name}: field name "${field}" is reserved for query parameters`)
    const type = fieldTypeOf(fieldSchema)
    if (type === undefined) continue
    fieldTypes.set(field, type)
    if (type.jsonText === true) jsonFields.add(field)
    else if (type.filter !== undefined) scalarFields.add(field)
  }
  for (const index of options.indexes ?? []) {
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(index.name)) throw new Error(`model ${name}: index name "${index.name}" must be 3-255 letters, digits, _ . -`)
    for (const field of [index.hash, index.range]) {
      if (field === undefined) continue
      if (fieldTypes.get(field)?.keyType === undefined) {
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
    scalarFields,
    fieldTypes
  }
}
