import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createPatch } from 'rfc6902'
import { Type } from 'typebox'
import { badRequest, entityNotFound, notVersioned, versionNotFound } from '../errors.js'
import { ownFields, type Model } from '../models/define.js'
import { instant } from '../http/instant.js'
import { modelSchemas } from '../http/model-schemas.js'
import { etagOf, writeWithPrecondition } from '../http/preconditions.js'
import { ETagHeader, Id, OPTIONAL_BODY, OptionalVersionBody, problemResponses, VersionId } from '../http/schemas.js'
import { IdempotencyKeyHeader, idempotencyProblems, ReplayedHeader } from '../http/idempotency.js'
import type { HistoryCursor } from '../repository/history.js'
import type { EntityRepository } from '../repository/repository.js'
import type { Entity } from '../storage/item-mapping.js'

const VersionParams = Type.Object({ id: Id, version: VersionId })
const time = (description: string): ReturnType<typeof Type.String> => Type.String({ format: 'date-time', description, examples: ['2026-11-26T23:51:48.540000+00:00'] })

const JsonPatch = Type.Array(Type.Object({
  op: Type.String({ enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] }),
  path: Type.String({ description: 'JSON Pointer' }),
  from: Type.Optional(Type.String()),
  value: Type.Optional(Type.Unknown())
}), { description: 'RFC 6902 JSON Patch that turns the first version into the second', examples: [[{ op: 'replace', path: '/last_name', value: 'Byron' }, { op: 'add', path: '/age', value: 37 }]] })

/**
 * History of a versioned model (DESIGN §3): versions newest first, one version, a diff between two, and
 * restore. A model that is not versioned answers every one of them with 405.
 */
export function registerHistoryRoutes (app: FastifyInstance, model: Model, repository: EntityRepository): void {
  const { name, versioned } = model
  const base = `/${model.path}/:id/versions`
  const tags = [name]
  const { entityRef, list } = modelSchemas(model)
  // Undocumented when not versioned: an operation that can only answer 405 is not one to generate a client for.
  const hide = versioned ? {} : { hide: true }
  // RFC 9110: a 405 lists the methods the resource supports: none, for a model without history.
  const notHere = async (_request: FastifyRequest, reply: FastifyReply): Promise<never> => {
    reply.header('allow', '')
    throw notVersioned(name)
  }
  const only = <T>(handler: T): T | typeof notHere => (versioned ? handler : notHere)

  app.get(base, {
    schema: {
      ...hide,
      tags,
      operationId: `list${name}Versions`,
      summary: `History of a ${name}, newest first`,
      description: versioned
        ? 'Every version, the current one first, then the replaced ones from the audit table. from/to bound changed_on (inclusive). A page of a verso-written history is one Query; histories holding Rococo-written (UUIDv4) versions are read whole and sorted by changed_on for every page.'
        : `${name} is not versioned: 405.`,
      params: Type.Object({ id: Id }),
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size' })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'next_cursor of the previous page' })),
        from: Type.Optional(time('Only versions whose changed_on is at or after this time')),
        to: Type.Optional(time('Only versions whose changed_on is at or before this time'))
      }, { additionalProperties: false }),
      response: { 200: { ...list, description: 'A page of versions, newest first' }, ...problemResponses(400, 404, 503) }
    }
  }, only(async (request: FastifyRequest) => {
    const { id } = request.params as { id: string }
    const query = request.query as { limit: number, cursor?: string, from?: string, to?: string }
    const from = query.from === undefined ? undefined : instant(query.from, 'from')
    const to = query.to === undefined ? undefined : instant(query.to, 'to')
    if (from !== undefined && to !== undefined && from > to) throw badRequest('from must not be after to.')
    const scope = `versions:${name}:${id}:${from ?? ''}:${to ?? ''}`
    const page = await repository.withDeadline().history.list(model, id, {
      limit: query.limit,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(query.cursor === undefined ? {} : { cursor: app.cursors.decode(query.cursor, scope) as HistoryCursor })
    })
    if (page === undefined) throw entityNotFound(name, id)
    return { items: page.items, next_cursor: page.next === undefined ? null : app.cursors.encode(page.next, scope) }
  }))

  app.get(`${base}/:version`, {
    schema: {
      ...hide,
      tags,
      operationId: `get${name}Version`,
      summary: `One version of a ${name}, past or current`,
      params: VersionParams,
      response: { 200: { ...entityRef, description: 'The version', headers: { etag: ETagHeader } }, ...problemResponses(400, 404, 503) }
    }
  }, only(async (request: FastifyRequest, reply) => {
    const { id, version } = request.params as { id: string, version: string }
    const entity = await repository.withDeadline().history.version(model, id, version)
    if (entity === undefined) throw versionNotFound(name, id, version)
    return reply.header('etag', etagOf(version)).send(entity)
  }))

  app.get(`${base}/:version/diff`, {
    schema: {
      ...hide,
      tags,
      operationId: `diff${name}Versions`,
      summary: `What changed between two versions of a ${name} (RFC 6902 JSON Patch)`,
      description: 'The JSON Patch that turns version {version} into version `to` (the current version when `to` is left out). Server-managed fields are left out unless include_meta=true.',
      params: VersionParams,
      querystring: Type.Object({
        to: Type.Optional(VersionId),
        include_meta: Type.Optional(Type.Boolean({ default: false, description: 'Compare the server-managed fields too' }))
      }, { additionalProperties: false }),
      response: { 200: { description: 'RFC 6902 JSON Patch', content: { 'application/json-patch+json': { schema: JsonPatch } } }, ...problemResponses(400, 404, 503) }
    }
  }, only(async (request: FastifyRequest, reply) => {
    const { id, version } = request.params as { id: string, version: string }
    const { to, include_meta: includeMeta } = request.query as { to?: string, include_meta: boolean }
    const repo = repository.withDeadline()
    const [source, target] = await Promise.all([
      repo.history.version(model, id, version),
      to === undefined ? repo.get(model, id) : repo.history.version(model, id, to)
    ])
    if (source === undefined) throw versionNotFound(name, id, version)
    if (target === undefined) throw to === undefined ? entityNotFound(name, id) : versionNotFound(name, id, to)
    const patch = includeMeta ? createPatch(source, target) : createPatch(ownFields(source), ownFields(target))
    return reply.type('application/json-patch+json').send(patch)
  }))

  app.post(`${base}/:version/restore`, {
    schema: {
      ...hide,
      tags,
      operationId: `restore${name}Version`,
      summary: `Restore a ${name} to a version`,
      description: 'Writes a new version whose fields equal those of {version}, exactly as stored (undeletes a soft-deleted entity; audited; emits a restored event). Needs If-Match: "<current version>" or {"version": "<current version>"} as the body.',
      params: VersionParams,
      headers: Type.Object({
        'if-match': Type.Optional(Type.String({ description: 'The current version, as an entity tag' })),
        'idempotency-key': IdempotencyKeyHeader
      }),
      body: OptionalVersionBody,
      [OPTIONAL_BODY]: true,
      response: {
        200: { ...entityRef, description: 'The new version', headers: { etag: ETagHeader, 'idempotent-replayed': ReplayedHeader } },
        ...problemResponses(400, 404, 409, 412, 415, 428, 503),
        ...idempotencyProblems('Conflict: the body version is stale')
      }
    },
    config: { acceptedTypes: ['application/json'] }
  }, only(async (request: FastifyRequest, reply) => {
    const { id, version } = request.params as { id: string, version: string }
    return await app.idempotency.answer<Entity>(request, reply, async (idempotency) =>
      await writeWithPrecondition(request, async (expected) =>
        await repository.withDeadline().restore(model, id, version, { expected, actor: request.callerId, traceparent: request.trace.traceparent, ...(idempotency === undefined ? {} : { idempotency }) })),
    (state) => ({ status: 200, headers: { etag: etagOf(state.version) }, body: state }))
  }))
}
