import type { FastifyReply } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { createPatch } from 'rfc6902'
import { badRequest, entityNotFound, notVersioned, versionNotFound } from '../errors.js'
import { ownFields } from '../models/define.js'
import { instant } from '../http/instant.js'
import { etagOf, writeWithPrecondition } from '../http/preconditions.js'
import type { HistoryCursor } from '../repository/version-history.js'
import { chainBreaks, type ChainReport } from '../repository/integrity.js'
import type { EntityRepository } from '../repository/repository.js'
import type { Entity } from '../models/entity.js'
import type { ServedModel } from './entity-schemas.js'

/** Sets Verso-Chain when `chain` is a report of a broken history. */
export function markChain (reply: FastifyReply, chain: ChainReport | undefined): void {
  const breaks = chain === undefined ? undefined : chainBreaks(chain)
  if (breaks !== undefined) reply.header('verso-chain', breaks)
}

/**
 * History of a versioned model (docs/history.md), registered with the prefix /{model}: versions newest first,
 * one version, a diff between two, and restore. A model that is not versioned answers every one of them with 405.
 */
const historyRoutes: FastifyPluginAsyncTypebox<{ served: ServedModel }> = async (app, { served }) => {
  const { model, history: routes } = served
  const { name } = model
  const repository = (): EntityRepository => app.repository.withDeadline()
  if (!model.versioned) {
    // RFC 9110: a 405 lists the methods the resource supports: none, for a model without history.
    const notHere = async (_request: unknown, reply: FastifyReply): Promise<never> => {
      reply.header('allow', '')
      throw notVersioned(name)
    }
    app.get('/:id/versions', { schema: routes.list }, notHere)
    app.get('/:id/integrity', { schema: routes.integrity }, notHere)
    app.get('/:id/versions/:version', { schema: routes.version }, notHere)
    app.get('/:id/versions/:version/diff', { schema: routes.diff }, notHere)
    app.post('/:id/versions/:version/restore', { schema: routes.restore, config: { acceptedTypes: ['application/json'] } }, notHere)
    return
  }

  app.get('/:id/versions', { schema: routes.list }, async (request, reply) => {
    const { id } = request.params
    const { limit, cursor, ...query } = request.query
    const from = query.from === undefined ? undefined : instant(query.from, 'from')
    const to = query.to === undefined ? undefined : instant(query.to, 'to')
    if (from !== undefined && to !== undefined && from > to) throw badRequest('from must not be after to.')
    const scope = `versions:${name}:${id}:${from ?? ''}:${to ?? ''}`
    const page = await repository().history.list(model, id, {
      limit,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(cursor === undefined ? {} : { cursor: app.cursors.decode(cursor, scope) as HistoryCursor })
    })
    if (page === undefined) throw entityNotFound(name, id)
    markChain(reply, page.chain)
    return { items: page.items, next_cursor: page.next === undefined ? null : app.cursors.encode(page.next, scope) }
  })

  app.get('/:id/integrity', { schema: routes.integrity }, async (request) => {
    const { id } = request.params
    const report = await repository().history.integrity(model, id)
    if (report === undefined) throw entityNotFound(name, id)
    return report
  })

  app.get('/:id/versions/:version', { schema: routes.version }, async (request, reply) => {
    const { id, version } = request.params
    const entity = await repository().history.version(model, id, version)
    if (entity === undefined) throw versionNotFound(name, id, version)
    return reply.header('etag', etagOf(version)).send(entity)
  })

  app.get('/:id/versions/:version/diff', { schema: routes.diff }, async (request, reply) => {
    const { id, version } = request.params
    const { to, include_meta: includeMeta } = request.query
    const repo = repository()
    const [source, target] = await Promise.all([
      repo.history.version(model, id, version),
      to === undefined ? repo.get(model, id) : repo.history.version(model, id, to)
    ])
    if (source === undefined) throw versionNotFound(name, id, version)
    if (target === undefined) throw to === undefined ? entityNotFound(name, id) : versionNotFound(name, id, to)
    const patch = includeMeta === true ? createPatch(source, target) : createPatch(ownFields(source), ownFields(target))
    return reply.type('application/json-patch+json').send(patch)
  })

  app.post('/:id/versions/:version/restore', { schema: routes.restore, config: { acceptedTypes: ['application/json'] } }, async (request, reply) => {
    const { id, version } = request.params
    return await app.idempotency.answer<Entity>(request, reply, async (idempotency) =>
      await writeWithPrecondition(request, request.body?.version, async (expected) =>
        await repository().restore(model, id, version, { expected, actor: request.callerId, traceparent: request.trace.traceparent, ...(idempotency === undefined ? {} : { idempotency }) })),
    (state) => ({ status: 200, headers: { etag: etagOf(state.version) }, body: state }))
  })
}

export default historyRoutes
