import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createPatch } from 'rfc6902'
import { Type } from 'typebox'
import { badRequest, entityNotFound, notVersioned, versionNotFound } from '../errors.js'
import { ownFields, type Model } from '../models/define.js'
import { instant } from '../http/instant.js'
import { modelSchemas } from '../http/model-schemas.js'
import { etagOf, writeWithPrecondition } from '../http/preconditions.js'
import { ETagHeader, Id, OPTIONAL_BODY, OptionalVersionBody, problemResponses, VersionId } from '../http/schemas.js'
import { IdempotencyKeyHeader, idempotencyProblems, ReplayedHeader } from '../http/idempotency-key.js'
import type { HistoryCursor } from '../repository/version-history.js'
import { chainBreaks, type ChainReport } from '../repository/integrity.js'
import type { EntityRepository } from '../repository/repository.js'
import type { Entity } from '../models/entity.js'

const VersionParams = Type.Object({ id: Id, version: VersionId })
const time = (description: string): ReturnType<typeof Type.String> => Type.String({ format: 'date-time', description, examples: ['2026-11-26T23:51:48.540000+00:00'] })

const JsonPatch = Type.Array(Type.Object({
  op: Type.String({ enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] }),
  path: Type.String({ description: 'JSON Pointer' }),
  from: Type.Optional(Type.String()),
  value: Type.Optional(Type.Unknown())
}), { description: 'RFC 6902 JSON Patch that turns the first version into the second', examples: [[{ op: 'replace', path: '/last_name', value: 'Byron' }, { op: 'add', path: '/age', value: 37 }]] })

/**
 * Set on a history or as_of answer that had to read the whole history and found it is not one chain: `forked`,
 * `gapped`, or `forked, gapped`. GET /{model}/{id}/integrity names the versions involved.
 */
export const ChainHeader = {
  type: 'string',
  enum: ['forked', 'gapped', 'forked, gapped'],
  description: 'Present when the versions of this entity do not form one chain (another writer saved without the lock): GET /{model}/{id}/integrity lists the forks and gaps'
}

/** Sets Verso-Chain when `chain` is a report of a broken history. */
export function markChain (reply: FastifyReply, chain: ChainReport | undefined): void {
  const breaks = chain === undefined ? undefined : chainBreaks(chain)
  if (breaks !== undefined) reply.header('verso-chain', breaks)
}

const VersionRef = Type.Object({
  version: VersionId,
  changed_on: Type.Optional(Type.String({ description: 'As stored' })),
  changed_by_id: Type.Optional(Type.String())
}, { additionalProperties: false })

const EXAMPLE_PARENT = { version: '019ac3f2a4b67c1d8e2f3a4b5c6d7e8f', changed_on: '2026-11-26T23:51:48.540000+00:00', changed_by_id: '00000000000040008000000000000000' }
const IntegrityReport = Type.Object({
  linear: Type.Boolean({ description: 'true when the versions form one chain from the creation to the current version' }),
  current_version: Type.String({ description: 'The version in the main table: of a fork\'s children, the one that won' }),
  versions: Type.Integer({ minimum: 1, description: 'Versions read: the current one and the replaced ones in the audit table' }),
  forks: Type.Array(Type.Object({
    parent: Type.Object({ ...VersionRef.properties }, { additionalProperties: false, description: 'The predecessor they all name (only its version when it is missing too, or the zero id of two creations)' }),
    children: Type.Array(VersionRef, { minItems: 2, description: 'Oldest changed_on first' })
  }, { additionalProperties: false }), { description: 'Versions naming the same predecessor: each was written on top of it without seeing the others' }),
  gaps: Type.Array(Type.Object({
    version: VersionId,
    named_by: Type.Array(VersionRef, { minItems: 1 })
  }, { additionalProperties: false }), { description: 'Predecessors named by a version but found neither in the audit table nor as the current version' })
}, {
  additionalProperties: false,
  examples: [{
    linear: false,
    current_version: '6f1c2b9e0d8a4c7b9e3f5a1d2c4b6e8f',
    versions: 3,
    forks: [{
      parent: EXAMPLE_PARENT,
      children: [
        { version: '019ac3f3b1c27d4e8f9a0b1c2d3e4f50', changed_on: '2026-11-26T23:52:10.120000+00:00', changed_by_id: '00000000000040008000000000000000' },
        { version: '6f1c2b9e0d8a4c7b9e3f5a1d2c4b6e8f', changed_on: '2026-11-26T23:52:10.391828+00:00', changed_by_id: '5f0c1e2d3b4a49788a6b5c4d3e2f1a0b' }
      ]
    }],
    gaps: []
  }]
})

/**
 * History of a versioned model (docs/history.md): versions newest first, one version, a diff between two, and
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
        ? 'Every version, the current one first, then the replaced ones from the audit table. from/to bound changed_on (inclusive). A page of a verso-written history is one Query; histories holding Rococo-written (UUIDv4) versions are read whole and sorted by changed_on for every page. A history read whole that is not one chain (forked or gapped) is answered with a Verso-Chain header: the page is then in changed_on order, not a chain.'
        : `${name} is not versioned: 405.`,
      params: Type.Object({ id: Id }),
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size' })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'next_cursor of the previous page' })),
        from: Type.Optional(time('Only versions whose changed_on is at or after this time')),
        to: Type.Optional(time('Only versions whose changed_on is at or before this time'))
      }, { additionalProperties: false }),
      response: { 200: { ...list, description: 'A page of versions, newest first', headers: { 'verso-chain': ChainHeader } }, ...problemResponses(400, 404, 503) }
    }
  }, only(async (request: FastifyRequest, reply: FastifyReply) => {
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
    markChain(reply, page.chain)
    return { items: page.items, next_cursor: page.next === undefined ? null : app.cursors.encode(page.next, scope) }
  }))

  app.get(`/${model.path}/:id/integrity`, {
    schema: {
      ...hide,
      tags,
      operationId: `check${name}Integrity`,
      summary: `Whether the versions of a ${name} form one chain`,
      description: versioned
        ? 'Reads every version (the current one and the whole audit table partition) and reports forks (two or more versions naming the same predecessor: a writer saved without the optimistic lock, and one of the updates was lost) and gaps (a predecessor named but stored nowhere). verso\'s own writes never fork; Rococo\'s published DynamoDB save (no lock) can. Soft-deleted entities are checked too.'
        : `${name} is not versioned: 405.`,
      params: Type.Object({ id: Id }),
      response: { 200: { ...IntegrityReport, description: 'The chain report' }, ...problemResponses(400, 404, 503) }
    }
  }, only(async (request: FastifyRequest) => {
    const { id } = request.params as { id: string }
    const report = await repository.withDeadline().history.integrity(model, id)
    if (report === undefined) throw entityNotFound(name, id)
    return report
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
