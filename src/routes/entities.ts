import type { FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { badRequest, entityNotFound, scanRefused, unsupportedMediaType, validationFailed } from '../errors.js'
import { SERVER_MANAGED_FIELDS } from '../models/define.js'
import { acceptedTypes } from '../http/problem.js'
import { etagOf, notModified, writeWithPrecondition } from '../http/preconditions.js'
import { REFUSED_ON_CREATE, refusedOnWrite, serverManagedProblem } from '../http/server-managed.js'
import { validateMerged } from '../http/patch-validation.js'
import { describePlan, indexedFilters, planQuery, type Plan } from '../repository/query.js'
import { parseFilters } from '../http/filters.js'
import type { Entity } from '../models/entity.js'
import type { EntityRepository, ListOptions } from '../repository/repository.js'
import type { AsOfAnswer } from '../repository/version-history.js'
import { instant } from '../http/instant.js'
import { markChain } from './history.js'
import { PATCH_TYPES, type ServedModel } from './entity-schemas.js'

const JSON_TYPES = ['application/json']

const mediaType = (header: string | undefined): string => (header ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
const hasBody = (request: FastifyRequest): boolean =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0

/**
 * Checks what JSON Schema cannot say clearly: the Content-Type this route takes, and server-managed
 * fields in the body (src/http/server-managed.ts).
 */
function guardBody (refused: readonly string[]): preValidationHookHandler {
  return async (request) => {
    const accepted = acceptedTypes(request)
    if (hasBody(request) && !accepted.includes(mediaType(request.headers['content-type']))) {
      throw unsupportedMediaType(request.headers['content-type'], accepted)
    }
    const problem = serverManagedProblem(request.body, refused)
    if (problem !== undefined) throw problem
  }
}

export interface EntityRoutesOptions {
  served: ServedModel
  scanPolicy: 'allow' | 'deny'
}

/** The REST routes of one model (docs/api.md), registered with the prefix /{model}; all derived from its declaration. */
const entityRoutes: FastifyPluginAsyncTypebox<EntityRoutesOptions> = async (app, { served, scanPolicy }) => {
  const { model, prefix, routes, validateFields } = served
  const { versioned, name } = model
  const repository = (): EntityRepository => app.repository.withDeadline()

  const sendEntity = (reply: FastifyReply, entity: Entity, status = 200): FastifyReply => {
    if (versioned) reply.header('etag', etagOf(entity.version))
    return reply.code(status).send(entity)
  }

  /** The conditions of a list or count, the plan that serves them, and the refusal of a scan when policy says so. */
  const planFor = (filters: Record<string, unknown>, order?: 'asc' | 'desc'): Plan => {
    const plan = planQuery(model, parseFilters(model, filters), order)
    if (plan.kind === 'scan' && scanPolicy === 'deny') throw scanRefused(name, indexedFilters(model))
    return plan
  }

  /** The fields= of a list: names the model has (or may have, when it allows extra fields). */
  const projectionOf = (fields: string | undefined): string[] | undefined => {
    const projection = fields?.split(',')
    const unknown = projection?.filter((f) => !Object.hasOwn(model.schema.properties, f) && !(SERVER_MANAGED_FIELDS as readonly string[]).includes(f))
    if (unknown !== undefined && unknown.length > 0 && !model.allowExtra) throw badRequest(`fields names ${unknown.join(', ')}, which ${name} does not have.`)
    return projection
  }

  app.post('/', { schema: routes.create, config: { acceptedTypes: JSON_TYPES }, preValidation: guardBody(REFUSED_ON_CREATE) }, async (request, reply) => {
    const { entity_id: entityId, ...fields } = request.body
    return await app.idempotency.answer<Entity>(request, reply, async (idempotency) =>
      await repository().create(model, fields, {
        actor: request.callerId,
        traceparent: request.trace.traceparent,
        ...(entityId === undefined ? {} : { entityId: String(entityId) }),
        ...(idempotency === undefined ? {} : { idempotency })
      }), (state) => ({
      status: 201,
      headers: { location: `${prefix}/${String(state.entity_id)}`, ...(versioned ? { etag: etagOf(state.version) } : {}) },
      body: state
    }))
  })

  app.get('/:id', { schema: routes.read }, async (request, reply) => {
    const { id } = request.params
    const { as_of: asOf, include_deleted: includeDeleted } = request.query
    const answer: Partial<AsOfAnswer> | undefined = asOf === undefined ? { entity: await repository().get(model, id) } : await repository().history.asOf(model, id, instant(asOf))
    const entity = answer?.entity
    if (entity === undefined || (entity.active === false && includeDeleted !== true)) throw entityNotFound(name, id)
    markChain(reply, answer?.chain)
    if (versioned && notModified(request.headers['if-none-match'], entity.version)) {
      return reply.code(304).header('etag', etagOf(entity.version)).send()
    }
    return sendEntity(reply, entity)
  })

  app.get('/', { schema: routes.list }, async (request, reply) => {
    const { limit, cursor, order, fields, sort, include_deleted: includeDeleted, ...filters } = request.query
    if (sort !== undefined) throw validationFailed('sort is not supported: DynamoDB orders results only along an index range field. Filter on the index hash field and use order=asc|desc.', [{ path: '/querystring/sort', message: 'is not supported; use order with an indexed filter' }])
    const plan = planFor(filters, order)
    const projection = projectionOf(fields)
    const scope = `list:${name}:${describePlan(plan)}:${order ?? ''}:${includeDeleted ? 1 : 0}:${JSON.stringify(Object.entries(filters).sort(([a], [b]) => a.localeCompare(b)))}`
    const page = await repository().list(model, {
      plan,
      limit,
      includeDeleted,
      ...(order === undefined ? {} : { order }),
      ...(projection === undefined ? {} : { fields: projection }),
      ...(cursor === undefined ? {} : { startKey: app.cursors.decode(cursor, scope) as ListOptions['startKey'] })
    })
    reply.header('x-query-plan', describePlan(plan))
    return { items: page.items, next_cursor: page.lastKey === undefined ? null : app.cursors.encode(page.lastKey, scope) }
  })

  app.get('/count', { schema: routes.count }, async (request, reply) => {
    const { include_deleted: includeDeleted, ...filters } = request.query
    const plan = planFor(filters)
    const result = await repository().count(model, { plan, includeDeleted })
    reply.header('x-query-plan', describePlan(plan))
    return result
  })

  app.put('/:id', { schema: routes.replace, config: { acceptedTypes: JSON_TYPES }, preValidation: guardBody(refusedOnWrite(versioned)) }, async (request, reply) => {
    const { id } = request.params
    const { version, ...fields } = request.body
    if (!versioned) {
      const { state, created } = await repository().upsert(model, id, fields, { traceparent: request.trace.traceparent })
      return sendEntity(reply, state, created ? 201 : 200)
    }
    const state = await writeWithPrecondition(request, version, async (expected) =>
      await repository().replace(model, id, fields, { expected, actor: request.callerId, traceparent: request.trace.traceparent }))
    return sendEntity(reply, state)
  })

  app.patch('/:id', { schema: routes.patch, config: { acceptedTypes: PATCH_TYPES }, preValidation: guardBody(refusedOnWrite(versioned)) }, async (request, reply) => {
    const { id } = request.params
    const { version, ...patch } = request.body
    const validate = (merged: Entity): void => { validateMerged(validateFields, merged, patch, 'body', `${name} ${id}`) }
    const state = versioned
      ? await writeWithPrecondition(request, version, async (expected) =>
        await repository().patch(model, id, patch, { expected, actor: request.callerId, traceparent: request.trace.traceparent, validate }))
      : await repository().patchUnversioned(model, id, patch, validate, { traceparent: request.trace.traceparent })
    return sendEntity(reply, state)
  })

  if (versioned) {
    app.delete('/:id', { schema: routes.softDelete, config: { acceptedTypes: JSON_TYPES }, preValidation: guardBody([]) }, async (request, reply) => {
      const { id } = request.params
      const state = await writeWithPrecondition(request, request.body?.version, async (expected) =>
        await repository().softDelete(model, id, { expected, actor: request.callerId, traceparent: request.trace.traceparent }))
      return sendEntity(reply, state)
    })
  } else {
    app.delete('/:id', { schema: routes.delete, config: { acceptedTypes: JSON_TYPES }, preValidation: guardBody([]) }, async (request, reply) =>
      sendEntity(reply, await repository().hardDelete(model, request.params.id, { traceparent: request.trace.traceparent })))
  }
}

export default entityRoutes
