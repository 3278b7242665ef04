import type { ValidateFunction } from 'ajv'
import { Type, type Static, type TSchema } from 'typebox'
import type { Model } from '../models/define.js'
import { JSON_MEDIA_TYPES } from '../http/json-body.js'
import { modelSchemas, type ModelSchemas, type WriteBody } from '../http/model-schemas.js'
import { ETagHeader, header, Id, OPTIONAL_BODY, OptionalVersionBody, problem, problemResponses } from '../http/schemas.js'
import { IdempotencyKeyHeader, idempotencyProblems, ReplayedHeader } from '../http/idempotency-key.js'
import { validatorFor } from '../models/validator.js'
import { ChainHeader, historyRouteSchemas } from './history-schemas.js'

/** The media types PATCH takes (JSON Merge Patch, and plain JSON). */
export const PATCH_TYPES = JSON_MEDIA_TYPES

const IdParams = Type.Object({ id: Id })
const PlanHeader = header({ type: 'string', description: 'How DynamoDB was read: index:<name> (a Query) or scan', examples: ['index:author'] })
const includeDeleted = Type.Optional(Type.Boolean({ default: false, description: 'Return the entity even when it is soft-deleted' }))
const IncludeDeleted = Type.Object({ include_deleted: includeDeleted }, { additionalProperties: false })
const ReadAsOf = Type.Object({
  include_deleted: includeDeleted,
  as_of: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339 time: answer with the version that was current then (404 before the entity existed)', examples: ['2026-11-26T23:51:48.540000+00:00'] }))
}, { additionalProperties: false })
/** A model without versions has no as_of: its schema refuses one, so the query is the versioned one without it. */
const ReadCurrent = Type.Unsafe<Static<typeof ReadAsOf>>(IncludeDeleted)
const IfMatch = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'The version this write is based on, as an entity tag: "<version>". Required unless the body has version.' }))
})
const IfNoneMatch = Type.Object({ 'if-none-match': Type.Optional(Type.String({ description: 'Answer 304 when this entity tag is current' })) })
const count = (): TSchema => Type.Object({
  count: Type.Integer({ examples: [42] }),
  complete: Type.Boolean({ description: 'False when the budget ran out: count is then a lower bound' }),
  scanned: Type.Integer({ description: 'Items DynamoDB read to count them' }),
  pages: Type.Integer({ description: 'DynamoDB calls made' })
}, { description: 'The count', headers: { 'x-query-plan': PlanHeader } })

const PLAN_DESCRIPTION = 'Filters that compare an index\'s hash field for equality, and put a condition on its range field when it has one (eq, lt, lte, gt, gte, between, begins_with or exists.true), are served by a Query on that index (X-Query-Plan: index:<name>); anything else by a Scan (X-Query-Plan: scan), which SCAN_POLICY=deny refuses with 400. An index holds only items that have its key fields, so this is what makes both give the same answer.'

/** The route schemas of one model's entity routes (docs/api.md): what OpenAPI says of each, and what is validated. */
function entityRouteSchemas (model: Model, schemas: ModelSchemas) {
  const { versioned, name } = model
  const tags = [name]
  const withETag = (description: string): Record<string, unknown> =>
    versioned ? { ...schemas.entityRef, description, headers: { etag: ETagHeader } } : { ...schemas.entityRef, description }
  const preconditionHeaders = versioned ? { headers: IfMatch } : {}
  const needsPrecondition = versioned ? ' Needs If-Match: "<version>" or version in the body.' : ''
  return {
    create: {
      tags,
      operationId: `create${name}`,
      summary: `Create a ${name}`,
      description: versioned
        ? 'Writes the first version (previous_version is the zero id). entity_id may be supplied; otherwise one is generated.'
        : 'Creates the entity. entity_id may be supplied; otherwise one is generated.',
      headers: Type.Object({ 'idempotency-key': IdempotencyKeyHeader }),
      body: schemas.create,
      response: {
        201: {
          ...withETag(`The created ${name}`),
          headers: { ...(versioned ? { etag: ETagHeader } : {}), location: header({ type: 'string', description: 'Path of the new entity', examples: ['/person/3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f'] }), 'idempotent-replayed': ReplayedHeader }
        },
        ...problemResponses(400, 409, 413, 415, 503),
        ...idempotencyProblems('Conflict: an entity with this entity_id exists already')
      }
    },
    read: {
      tags,
      operationId: `get${name}`,
      summary: versioned ? `Read a ${name}: the current version, or the one current at as_of` : `Read a ${name}`,
      params: IdParams,
      querystring: versioned ? ReadAsOf : ReadCurrent,
      headers: IfNoneMatch,
      response: {
        200: versioned ? { ...withETag(`The current ${name}`), headers: { etag: ETagHeader, 'verso-chain': ChainHeader } } : withETag(`The current ${name}`),
        304: { type: 'null', description: 'Not modified: the If-None-Match tag is current', headers: { etag: ETagHeader } },
        ...problemResponses(400, 404, 503)
      }
    },
    list: {
      tags,
      operationId: `list${name}`,
      summary: `List ${name} entities`,
      description: `One page of ${name} entities. Filters: field=value, or field=op.value (eq, ne, lt, lte, gt, gte, begins_with, between.low,high, in.(a,b), exists.true|false), as PostgREST writes them; repeat a field to combine. ${PLAN_DESCRIPTION} order=asc|desc sorts along that index's range field. Soft-deleted entities are left out unless include_deleted=true. A page may hold fewer than limit items and still have a next_cursor.`,
      querystring: schemas.listQuery,
      response: { 200: { ...schemas.page, description: `A page of ${name} entities`, headers: { 'x-query-plan': PlanHeader } }, ...problemResponses(400, 503) }
    },
    count: {
      tags,
      operationId: `count${name}`,
      summary: `Count ${name} entities`,
      description: `How many ${name} entities match the filters (same syntax as the list). Counted with Select COUNT page by page, within a budget of 100 pages or 5 s: when it runs out, complete is false and count is a lower bound. ${PLAN_DESCRIPTION}`,
      querystring: schemas.countQuery,
      response: { 200: count(), ...problemResponses(400, 503) }
    },
    replace: {
      tags,
      operationId: `replace${name}`,
      summary: versioned ? `Replace a ${name} (new version)` : `Create or replace a ${name}`,
      description: versioned
        ? 'Full replacement: the new version has exactly the fields sent. Needs If-Match: "<version>" or version in the body.'
        : 'Writes the entity as sent, creating it when absent (no versions, last write wins).',
      params: IdParams,
      ...preconditionHeaders,
      body: schemas.replace,
      response: {
        200: withETag(`The new ${name} version`),
        ...(versioned ? problemResponses(400, 404, 409, 412, 413, 415, 428, 503) : { 201: withETag(`The created ${name}`), ...problemResponses(400, 413, 415, 503) })
      }
    },
    patch: {
      tags,
      operationId: `patch${name}`,
      summary: `Change some fields of a ${name} (JSON Merge Patch)`,
      description: 'RFC 7396 JSON Merge Patch (application/merge-patch+json; application/json is accepted too): members present replace, null removes, objects merge. The merged entity must be valid: a mistake in the patch is a 400; a stored value the patch leaves as it was but the model refuses (another writer\'s) is a 409 VERSO_STORED_STATE_INVALID naming it, fixed by sending that field or by a PUT.' +
        needsPrecondition,
      params: IdParams,
      ...preconditionHeaders,
      // One schema per media type PATCH takes; typed as the body it is, which the type provider cannot read from the map.
      body: Type.Unsafe<WriteBody>({ content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: schemas.patch }])) }),
      response: {
        200: withETag(`The new ${name} version`),
        ...problemResponses(...(versioned ? [400, 404, 409, 412, 413, 428, 503] : [400, 404, 409, 413, 503])),
        415: problem('Unsupported Content-Type', { 'accept-patch': header({ type: 'string', description: 'The media types PATCH takes', examples: [PATCH_TYPES.join(', ')] }) })
      }
    },
    // A versioned model soft-deletes, based on a version; another deletes for good.
    softDelete: {
      tags,
      operationId: `delete${name}`,
      summary: `Soft-delete a ${name}`,
      description: 'Writes a new version with active=false (history is kept). Needs If-Match: "<version>" or {"version": "…"} as the body.',
      params: IdParams,
      headers: IfMatch,
      body: OptionalVersionBody,
      [OPTIONAL_BODY]: true,
      response: {
        200: withETag(`The final state of the ${name}`),
        ...problemResponses(400, 404, 409, 412, 415, 428, 503)
      }
    },
    delete: {
      tags,
      operationId: `delete${name}`,
      summary: `Delete a ${name}`,
      description: 'Removes the entity for good and answers with its final state.',
      params: IdParams,
      response: {
        200: withETag(`The final state of the ${name}`),
        ...problemResponses(400, 404, 503)
      }
    }
  }
}

/** A model as the routes serve it: its schemas, built once from its declaration and shared by every route file. */
export interface ServedModel {
  model: Model
  /** `/{path}`: the prefix of its routes. */
  prefix: string
  schemas: ModelSchemas
  /** The fields alone: what a create, a replace or a merged patch must satisfy. */
  validateFields: ValidateFunction
  routes: ReturnType<typeof entityRouteSchemas>
  history: ReturnType<typeof historyRouteSchemas>
}

export function serveModel (model: Model): ServedModel {
  const schemas = modelSchemas(model)
  return {
    model,
    prefix: `/${model.path}`,
    schemas,
    validateFields: validatorFor(schemas.fields),
    routes: entityRouteSchemas(model, schemas),
    history: historyRouteSchemas(model, schemas)
  }
}
