import type { FastifyInstance, FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify'
import { Type } from 'typebox'
import { badRequest, entityNotFound, scanRefused, serverManagedField, unsupportedMediaType, validationFailed } from '../errors.js'
import { SERVER_MANAGED_FIELDS, type Model } from '../models/define.js'
import { JSON_MEDIA_TYPES } from '../http/json-body.js'
import { modelSchemas } from '../http/model-schemas.js'
import { acceptedTypes } from '../http/problem.js'
import { etagOf, notModified, writeWithPrecondition } from '../http/preconditions.js'
import { ETagHeader, header, Id, OPTIONAL_BODY, OptionalVersionBody, problem, problemResponses } from '../http/schemas.js'
import { IdempotencyKeyHeader, idempotencyProblems, ReplayedHeader } from '../http/idempotency-key.js'
import { bodyAjv } from '../http/validation.js'
import { validateMerged } from '../http/patch-validation.js'
import type { EntityRepository } from '../repository/repository.js'
import { describePlan, indexedFilters, planQuery, type Plan } from '../repository/query.js'
import { parseFilters } from '../http/filters.js'
import type { Item } from '../storage/item-mapping.js'
import type { Entity } from '../models/entity.js'
import { instant } from '../http/instant.js'
import { ChainHeader, markChain } from './history.js'
import type { AsOfAnswer } from '../repository/version-history.js'

const JSON_TYPES = ['application/json']
const PATCH_TYPES = JSON_MEDIA_TYPES

const mediaType = (header: string | undefined): string => (header ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
const hasBody = (request: FastifyRequest): boolean =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0

/**
 * Checks what JSON Schema cannot say clearly: the Content-Type this route takes, and server-managed
 * fields in the body (rejected by name, also for models that allow extra fields).
 */
function guardBody (forbidden: readonly string[]): preValidationHookHandler {
  return async (request) => {
    const accepted = acceptedTypes(request)
    if (hasBody(request) && !accepted.includes(mediaType(request.headers['content-type']))) {
      throw unsupportedMediaType(request.headers['content-type'], accepted)
    }
    const body = request.body
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const present = forbidden.filter((f) => Object.hasOwn(body, f))
      if (present.length > 0) throw serverManagedField(present)
    }
  }
}

const bodyFields = (body: unknown): Entity => {
  const { version: _version, ...fields } = body as Entity
  return fields
}

const IdParams = Type.Object({ id: Id })
const PlanHeader = header({ type: 'string', description: 'How DynamoDB was read: index:<name> (a Query) or scan', examples: ['index:author'] })
const includeDeleted = Type.Optional(Type.Boolean({ default: false, description: 'Return the entity even when it is soft-deleted' }))
const IncludeDeleted = Type.Object({ include_deleted: includeDeleted }, { additionalProperties: false })
const ReadAsOf = Type.Object({
  include_deleted: includeDeleted,
  as_of: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339 time: answer with the version that was current then (404 before the entity existed)', examples: ['2026-11-26T23:51:48.540000+00:00'] }))
}, { additionalProperties: false })
const IfMatch = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'The version this write is based on, as an entity tag: "<version>". Required unless the body has version.' }))
})

/** The REST routes of one model (docs/api.md), all derived from its declaration. */
export function registerModelRoutes (app: FastifyInstance, model: Model, repository: EntityRepository, scanPolicy: 'allow' | 'deny' = 'allow'): void {
  const schemas = modelSchemas(model)
  app.addSchema(schemas.entity)
  app.addSchema(schemas.projection)
  const fieldsValid = bodyAjv.compile(schemas.fields)
  const base = `/${model.path}`
  const tags = [model.name]
  const { versioned, name } = model
  const withETag = (description: string): Record<string, unknown> =>
    versioned ? { ...schemas.entityRef, description, headers: { etag: ETagHeader } } : { ...schemas.entityRef, description }

  const managedOnCreate = SERVER_MANAGED_FIELDS.filter((f) => f !== 'entity_id')
  const managedOnWrite = SERVER_MANAGED_FIELDS.filter((f) => !(versioned && f === 'version'))

  const sendEntity = (reply: FastifyReply, entity: Entity, status = 200): FastifyReply => {
    if (versioned) reply.header('etag', etagOf(entity.version))
    return reply.code(status).send(entity)
  }

  app.post(base, {
    schema: {
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
    config: { acceptedTypes: JSON_TYPES },
    preValidation: guardBody(managedOnCreate)
  }, async (request, reply) => {
    const { entity_id: entityId, ...fields } = request.body as Entity
    return await app.idempotency.answer<Entity>(request, reply, async (idempotency) =>
      await repository.withDeadline().create(model, fields, {
        actor: request.callerId,
        traceparent: request.trace.traceparent,
        ...(entityId === undefined ? {} : { entityId: String(entityId) }),
        ...(idempotency === undefined ? {} : { idempotency })
      }), (state) => ({
      status: 201,
      headers: { location: `${base}/${String(state.entity_id)}`, ...(versioned ? { etag: etagOf(state.version) } : {}) },
      body: state
    }))
  })

  app.get(`${base}/:id`, {
    schema: {
      tags,
      operationId: `get${name}`,
      summary: versioned ? `Read a ${name}: the current version, or the one current at as_of` : `Read a ${name}`,
      params: IdParams,
      querystring: versioned ? ReadAsOf : IncludeDeleted,
      headers: Type.Object({ 'if-none-match': Type.Optional(Type.String({ description: 'Answer 304 when this entity tag is current' })) }),
      response: {
        200: versioned ? { ...withETag(`The current ${name}`), headers: { etag: ETagHeader, 'verso-chain': ChainHeader } } : withETag(`The current ${name}`),
        304: { type: 'null', description: 'Not modified: the If-None-Match tag is current', headers: { etag: ETagHeader } },
        ...problemResponses(400, 404, 503)
      }
    }
  }, async (request, reply) => {
    const { id } = request.params as { id: string }
    const { include_deleted: includeDeleted, as_of: asOf } = request.query as { include_deleted: boolean, as_of?: string }
    const answer: Partial<AsOfAnswer> | undefined = asOf === undefined ? { entity: await repository.withDeadline().get(model, id) } : await repository.withDeadline().history.asOf(model, id, instant(asOf))
    const entity = answer?.entity
    if (entity === undefined || (entity.active === false && !includeDeleted)) throw entityNotFound(name, id)
    markChain(reply, answer?.chain)
    if (versioned && notModified(request.headers['if-none-match'], entity.version)) {
      return reply.code(304).header('etag', etagOf(entity.version)).send()
    }
    return sendEntity(reply, entity)
  })

  /** The conditions of a list or count, the plan that serves them, and the refusal of a scan when policy says so. */
  const planFor = (query: Record<string, unknown>, order?: 'asc' | 'desc'): Plan => {
    const plan = planQuery(model, parseFilters(model, query), order)
    if (plan.kind === 'scan' && scanPolicy === 'deny') throw scanRefused(model.name, indexedFilters(model))
    return plan
  }
  const planDescription = 'Filters that compare an index\'s hash field for equality, and put a condition on its range field when it has one (eq, lt, lte, gt, gte, between, begins_with or exists.true), are served by a Query on that index (X-Query-Plan: index:<name>); anything else by a Scan (X-Query-Plan: scan), which SCAN_POLICY=deny refuses with 400. An index holds only items that have its key fields, so this is what makes both give the same answer.'

  app.get(base, {
    schema: {
      tags,
      operationId: `list${name}`,
      summary: `List ${name} entities`,
      description: `One page of ${name} entities. Filters: field=value, or field=op.value (eq, ne, lt, lte, gt, gte, begins_with, between.low,high, in.(a,b), exists.true|false), as PostgREST writes them; repeat a field to combine. ${planDescription} order=asc|desc sorts along that index's range field. Soft-deleted entities are left out unless include_deleted=true. A page may hold fewer than limit items and still have a next_cursor.`,
      querystring: schemas.listQuery,
      response: { 200: { ...schemas.page, description: `A page of ${name} entities`, headers: { 'x-query-plan': PlanHeader } }, ...problemResponses(400, 503) }
    }
  }, async (request, reply) => {
    const { limit, cursor, order, fields, sort, include_deleted: includeDeleted, ...filters } = request.query as Record<string, unknown> & { limit: number, cursor?: string, order?: 'asc' | 'desc', fields?: string, sort?: string, include_deleted: boolean }
    if (sort !== undefined) throw validationFailed('sort is not supported: DynamoDB orders results only along an index range field. Filter on the index hash field and use order=asc|desc.', [{ path: '/querystring/sort', message: 'is not supported; use order with an indexed filter' }])
    const plan = planFor(filters, order)
    const projection = fields?.split(',')
    const unknown = projection?.filter((f) => !Object.hasOwn(model.schema.properties, f) && !(SERVER_MANAGED_FIELDS as readonly string[]).includes(f))
    if (unknown !== undefined && unknown.length > 0 && !model.allowExtra) throw badRequest(`fields names ${unknown.join(', ')}, which ${name} does not have.`)
    const scope = `list:${name}:${describePlan(plan)}:${order ?? ''}:${includeDeleted ? 1 : 0}:${JSON.stringify(Object.entries(filters).sort(([a], [b]) => a.localeCompare(b)))}`
    const page = await repository.withDeadline().list(model, {
      plan,
      limit,
      includeDeleted,
      ...(order === undefined ? {} : { order }),
      ...(projection === undefined ? {} : { fields: projection }),
      ...(cursor === undefined ? {} : { startKey: app.cursors.decode(cursor, scope) as Item })
    })
    reply.header('x-query-plan', describePlan(plan))
    return { items: page.items, next_cursor: page.lastKey === undefined ? null : app.cursors.encode(page.lastKey, scope) }
  })

  app.get(`${base}/count`, {
    schema: {
      tags,
      operationId: `count${name}`,
      summary: `Count ${name} entities`,
      description: `How many ${name} entities match the filters (same syntax as the list). Counted with Select COUNT page by page, within a budget of 100 pages or 5 s: when it runs out, complete is false and count is a lower bound. ${planDescription}`,
      querystring: schemas.countQuery,
      response: {
        200: Type.Object({
          count: Type.Integer({ examples: [42] }),
          complete: Type.Boolean({ description: 'False when the budget ran out: count is then a lower bound' }),
          scanned: Type.Integer({ description: 'Items DynamoDB read to count them' }),
          pages: Type.Integer({ description: 'DynamoDB calls made' })
        }, { description: 'The count', headers: { 'x-query-plan': PlanHeader } }),
        ...problemResponses(400, 503)
      }
    }
  }, async (request, reply) => {
    const { include_deleted: includeDeleted, ...filters } = request.query as Record<string, unknown> & { include_deleted: boolean }
    const plan = planFor(filters)
    const result = await repository.withDeadline().count(model, { plan, includeDeleted })
    reply.header('x-query-plan', describePlan(plan))
    return result
  })

  app.put(`${base}/:id`, {
    schema: {
      tags,
      operationId: `replace${name}`,
      summary: versioned ? `Replace a ${name} (new version)` : `Create or replace a ${name}`,
      description: versioned
        ? 'Full replacement: the new version has exactly the fields sent. Needs If-Match: "<version>" or version in the body.'
        : 'Writes the entity as sent, creating it when absent (no versions, last write wins).',
      params: IdParams,
      ...(versioned ? { headers: IfMatch } : {}),
      body: schemas.replace,
      response: {
        200: withETag(`The new ${name} version`),
        ...(versioned ? problemResponses(400, 404, 409, 412, 413, 415, 428, 503) : { 201: withETag(`The created ${name}`), ...problemResponses(400, 413, 415, 503) })
      }
    },
    config: { acceptedTypes: JSON_TYPES },
    preValidation: guardBody(managedOnWrite)
  }, async (request, reply) => {
    const { id } = request.params as { id: string }
    if (!versioned) {
      const { state, created } = await repository.withDeadline().upsert(model, id, bodyFields(request.body), { traceparent: request.trace.traceparent })
      return sendEntity(reply, state, created ? 201 : 200)
    }
    const state = await writeWithPrecondition(request, async (expected) =>
      await repository.withDeadline().replace(model, id, bodyFields(request.body), { expected, actor: request.callerId, traceparent: request.trace.traceparent }))
    return sendEntity(reply, state)
  })

  app.patch(`${base}/:id`, {
    schema: {
      tags,
      operationId: `patch${name}`,
      summary: `Change some fields of a ${name} (JSON Merge Patch)`,
      description: 'RFC 7396 JSON Merge Patch (application/merge-patch+json; application/json is accepted too): members present replace, null removes, objects merge. The merged entity must be valid: a mistake in the patch is a 400; a stored value the patch leaves as it was but the model refuses (another writer\'s) is a 409 VERSO_STORED_STATE_INVALID naming it, fixed by sending that field or by a PUT.' +
        (versioned ? ' Needs If-Match: "<version>" or version in the body.' : ''),
      params: IdParams,
      ...(versioned ? { headers: IfMatch } : {}),
      body: { content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: schemas.patch }])) },
      response: {
        200: withETag(`The new ${name} version`),
        ...problemResponses(...(versioned ? [400, 404, 409, 412, 413, 428, 503] : [400, 404, 409, 413, 503])),
        415: problem('Unsupported Content-Type', { 'accept-patch': header({ type: 'string', description: 'The media types PATCH takes', examples: [PATCH_TYPES.join(', ')] }) })
      }
    },
    config: { acceptedTypes: PATCH_TYPES },
    preValidation: guardBody(managedOnWrite)
  }, async (request, reply) => {
    const { id } = request.params as { id: string }
    const patch = bodyFields(request.body)
    const validate = (merged: Entity): void => { validateMerged(fieldsValid, merged, patch, 'body', `${name} ${id}`) }
    const state = versioned
      ? await writeWithPrecondition(request, async (expected) =>
        await repository.withDeadline().patch(model, id, patch, { expected, actor: request.callerId, traceparent: request.trace.traceparent, validate }))
      : await repository.withDeadline().patchUnversioned(model, id, patch, validate, { traceparent: request.trace.traceparent })
    return sendEntity(reply, state)
  })

  app.delete(`${base}/:id`, {
    schema: {
      tags,
      operationId: `delete${name}`,
      summary: versioned ? `Soft-delete a ${name}` : `Delete a ${name}`,
      description: versioned
        ? 'Writes a new version with active=false (history is kept). Needs If-Match: "<version>" or {"version": "…"} as the body.'
        : 'Removes the entity for good and answers with its final state.',
      params: IdParams,
      ...(versioned ? { headers: IfMatch, body: OptionalVersionBody, [OPTIONAL_BODY]: true } : {}),
      response: {
        200: withETag(`The final state of the ${name}`),
        ...problemResponses(...(versioned ? [400, 404, 409, 412, 415, 428, 503] : [400, 404, 503]))
      }
    },
    config: { acceptedTypes: JSON_TYPES },
    preValidation: guardBody([])
  }, async (request, reply) => {
    const { id } = request.params as { id: string }
    if (!versioned) return sendEntity(reply, await repository.withDeadline().hardDelete(model, id, { traceparent: request.trace.traceparent }))
    const state = await writeWithPrecondition(request, async (expected) =>
      await repository.withDeadline().softDelete(model, id, { expected, actor: request.callerId, traceparent: request.trace.traceparent }))
    return sendEntity(reply, state)
  })
}
