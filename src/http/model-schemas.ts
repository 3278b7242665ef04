import { Type, type TSchema, type TProperties, type TUnsafe } from 'typebox'
import type { Model } from '../models/define.js'
import { ID_PATTERN, ZERO_ID, type Entity } from '../models/entity.js'
import { Id, UNDOCUMENTED, VersionId } from './schemas.js'

export const EXAMPLE_META = {
  entity_id: '3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f',
  version: '019ac3f2a4b67c1d8e2f3a4b5c6d7e8f',
  previous_version: ZERO_ID,
  active: true,
  changed_by_id: ZERO_ID,
  changed_on: '2026-11-26T23:51:48.540000+00:00'
}

/** The server-managed fields of a versioned entity (change events carry them too). */
export const MetaFields = {
  entity_id: Id,
  version: VersionId,
  previous_version: Type.String({ pattern: ID_PATTERN, description: 'The version this one replaced; the zero id on create' }),
  active: Type.Boolean({ description: 'false once soft-deleted' }),
  changed_by_id: Type.String({ description: 'Id of the caller that wrote this version; the zero id when anonymous' }),
  changed_on: Type.String({ description: "UTC time of this version, as Python's isoformat() writes it", examples: [EXAMPLE_META.changed_on] })
}

/** A copy of a field's schema without its default, so that a patch never fills in values it did not send. */
function withoutDefault (schema: TSchema): TSchema {
  const { default: _ignored, ...rest } = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>
  return Type.Unsafe(rest)
}

/**
 * What a route receives once the schema validated it (ajv fills in defaults). A model's fields are known only
 * at run time, so these types say what verso itself reads; Type.Unsafe gives them to the TypeBox type provider.
 */
export type WriteBody = Entity & { version?: string }
export type ListQuery = Record<string, unknown> & {
  limit: number
  cursor?: string
  order?: 'asc' | 'desc'
  fields?: string
  sort?: string
  include_deleted: boolean
}
export type CountQuery = Record<string, unknown> & { include_deleted: boolean }

export interface ModelSchemas {
  /** The stored entity as returned by every read and write (registered under the model's name). */
  entity: TSchema
  entityRef: TSchema
  /** A list item under fields=: entity_id and the fields asked for (registered as `{name}Projection`). */
  projection: TSchema
  create: TUnsafe<Entity>
  /** PUT and PATCH bodies: the fields, and `version` on a versioned model. */
  replace: TUnsafe<WriteBody>
  patch: TUnsafe<WriteBody>
  /** The fields alone: what a merged patch must satisfy before it is written. */
  fields: TSchema
  listQuery: TUnsafe<ListQuery>
  countQuery: TUnsafe<CountQuery>
  /** A page of the list route: whole entities, or projections when fields= is given. */
  page: TSchema
  /** A page of whole entities (the history). */
  list: TSchema
}

/** Everything HTTP needs about a model, derived from its one declaration. */
export function modelSchemas (model: Model): ModelSchemas {
  const extra = { additionalProperties: model.allowExtra }
  // Extra field names become DynamoDB attribute names: non-empty and of sane length.
  const extraIn = model.allowExtra ? { ...extra, propertyNames: { minLength: 1, maxLength: 255 } } : extra
  const props = model.schema.properties as TProperties
  const example = model.versioned ? { ...EXAMPLE_META, ...model.example } : { entity_id: EXAMPLE_META.entity_id, ...model.example }
  const precondition: TProperties = model.versioned
    ? { version: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'The version this write is based on (alternative to If-Match)' })) }
    : {}
  const readMeta = model.versioned ? MetaFields : { entity_id: Id }
  // Stored items may come from other writers (Rococo) that leave fields out: every field is optional on the way out.
  const entity = Type.Object({ ...Type.Partial(model.schema).properties, ...readMeta }, {
    ...extra, $id: model.name, title: model.name, description: model.description, examples: [example]
  })
  const entityRef = Type.Unsafe({ $ref: `${model.name}#` })
  const scalarFilters: TProperties = {}
  for (const field of model.scalarFields) {
    const filter = Type.String({ maxLength: 4096 })
    scalarFilters[field] = Type.Optional(Type.Union([filter, Type.Array(filter, { maxItems: 10 })], {
      description: `Filter on ${field}: value (equality) or op.value with op one of eq, ne (neq), lt, lte, gt, gte, begins_with, between.low,high, in.(a,b), exists.true|false. Repeat the parameter to combine conditions.`
    }))
  }
  const filterQuery = {
    include_deleted: Type.Optional(Type.Boolean({ default: false, description: 'Include soft-deleted entities' })),
    ...scalarFilters
  }
  const sortable = model.indexes.some((i) => i.range !== undefined)
  const projection = Type.Object({ ...Type.Partial(entity).properties, entity_id: Id }, {
    ...extra,
    $id: `${model.name}Projection`,
    title: `${model.name}Projection`,
    description: `A ${model.name} as a list answers fields=: entity_id and the fields named`,
    examples: [{ entity_id: EXAMPLE_META.entity_id, ...Object.fromEntries(Object.entries(model.example).slice(0, 1)) }]
  })
  const nextCursor = Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor to get the next page; null on the last page' })
  const pageExample = { items: [example], next_cursor: 'eyJlbnRpdHlfaWQiOnsiUyI6IjNmMmM5YTRlOGQxYjRjN2E5ZTZmMGExYjJjM2Q0ZTVmIn19.q3Xw9bZ0cUu4Hf7e8mHk0P2yq1XgJcV4pQ6tYdL8sRk' }
  return {
    entity,
    entityRef,
    projection,
    create: Type.Unsafe<Entity>(Type.Object({ ...props, entity_id: Type.Optional(Id) }, { ...extraIn, examples: [model.example] })),
    replace: Type.Unsafe<WriteBody>(Type.Object({ ...props, ...precondition }, { ...extraIn, examples: [model.example] })),
    patch: Type.Unsafe<WriteBody>(Type.Object({
      ...Object.fromEntries(Object.entries(props).map(([k, s]) => [k, Type.Optional(Type.Union([withoutDefault(s), Type.Null()]))])),
      ...precondition
    }, { ...extraIn, description: 'RFC 7396 JSON Merge Patch: members present replace, null removes, objects merge', examples: [Object.fromEntries(Object.entries(model.example).slice(0, 1))] })),
    fields: Type.Object(props, extraIn),
    listQuery: Type.Unsafe<ListQuery>(Type.Object({
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size (items read per page; a filtered page may hold fewer)' })),
      cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'Opaque cursor from next_cursor of the previous page' })),
      // Documented only where an index has a range field: elsewhere it is always refused (400, naming why).
      order: Type.Optional(Type.Enum(['asc', 'desc'], { description: "Sort along the range field of the index the query uses (needs an equality filter on that index's hash field)", ...(sortable ? {} : { [UNDOCUMENTED]: true }) })),
      fields: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*(,[A-Za-z_][A-Za-z0-9_]*)*$', description: 'Comma-separated fields to return (entity_id always comes back)', examples: ['title,author'] })),
      sort: Type.Optional(Type.String({ description: 'Not supported: DynamoDB sorts only along an index range field; use order', [UNDOCUMENTED]: true })),
      ...filterQuery
    }, { additionalProperties: false })),
    countQuery: Type.Unsafe<CountQuery>(Type.Object(filterQuery, { additionalProperties: false })),
    page: Type.Object({
      items: Type.Array(Type.Union([entityRef, Type.Unsafe({ $ref: `${model.name}Projection#` })], { description: `A whole ${model.name}, or with fields= a ${model.name}Projection` })),
      next_cursor: nextCursor
    }, { examples: [pageExample] }),
    list: Type.Object({ items: Type.Array(entityRef), next_cursor: nextCursor }, { examples: [pageExample] })
  }
}
