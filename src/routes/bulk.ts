import { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { bodyTooLarge, internalError, lineTooLong, validationFailed, VersoError } from '../errors.js'
import type { BodyShapeLimits } from '../http/body-shape.js'
import { parseJsonBody } from '../http/json-body.js'
import { ndjsonLines, type NdjsonLine } from '../http/ndjson.js'
import { problemBody } from '../http/problem.js'
import { REFUSED_ON_CREATE, serverManagedProblem } from '../http/server-managed.js'
import { validationError } from '../http/validation.js'
import { validatorFor } from '../models/validator.js'
import type { EntityRepository } from '../repository/repository.js'
import { createMany, type CreateOutcome } from '../repository/bulk-create.js'
import type { Entity } from '../models/entity.js'
import { bulkRouteSchema, NDJSON } from './bulk-schemas.js'
import type { ServedModel } from './entity-schemas.js'

export interface BulkRoutesOptions {
  served: readonly ServedModel[]
  /** BODY_LIMIT_BYTES: the longest line (one entity's body). */
  lineLimit: number
  /** BULK_BODY_LIMIT_BYTES: the whole body. */
  bodyLimit: number
  shape: BodyShapeLimits
}

/** Lines per createMany call (one TransactWriteItems of 50 creates, 100 actions) and calls in flight per request. */
const PACING = { batch: 50, concurrency: 4 }

interface Entry { line: number, fields: Entity, entityId?: string }
interface Summary { lines: number, created: number, failed: number, complete: boolean, problem?: Record<string, unknown> }

/**
 * `POST /{model}/_bulk`: NDJSON in, NDJSON out, both streamed. Registered in a context of its own, so the
 * NDJSON parser (which hands the body over unread) serves these routes only.
 */
const bulkRoutes: FastifyPluginAsyncTypebox<BulkRoutesOptions> = async (app, options) => {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(NDJSON, (_request, payload, done) => { done(null, payload) })
  for (const served of options.served) {
    const instance = `${served.prefix}/_bulk`
    const run = importer(served, instance, options, app.repository)
    app.post(instance, {
      schema: bulkRouteSchema(served.model, PACING),
      // The body is a stream, read by the handler: nothing for a schema to validate.
      validatorCompiler: () => () => true,
      config: { acceptedTypes: [NDJSON] }
    }, async (request, reply) => {
      if (Number(request.headers['content-length'] ?? 0) > options.bodyLimit) throw bodyTooLarge(options.bodyLimit)
      const body = request.body instanceof Readable ? request.body : Readable.from([])
      const lines = ndjsonLines(body, options.lineLimit, options.bodyLimit)
      return await reply.type(`${NDJSON}; charset=utf-8`).send(Readable.from(run(request, lines)))
    })
  }
}

export default bulkRoutes

/** The import of one model's lines: each checked as POST /{model} checks a body, the valid ones created in batches. */
function importer ({ model, schemas }: ServedModel, instance: string, options: BulkRoutesOptions, repository: EntityRepository): (request: FastifyRequest, lines: AsyncIterable<NdjsonLine>) => AsyncGenerator<string> {
  const validate = validatorFor<Entity>(schemas.create)

  /** One line's entity, or the problem that refuses it; the same checks as POST /{model}. */
  const parse = (line: NdjsonLine): Entry | VersoError => {
    if ('tooLong' in line) return lineTooLong(options.lineLimit)
    let body: unknown
    try {
      body = parseJsonBody(line.text, options.shape)
    } catch (err) {
      return err as VersoError
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return validationFailed('The line is not a JSON object.', [{ path: '/body', message: 'must be object' }])
    const refused = serverManagedProblem(body, REFUSED_ON_CREATE)
    if (refused !== undefined) return refused
    if (!validate(body)) return validationError(validate.errors ?? [], 'body')
    const { entity_id: entityId, ...fields } = body
    return { line: line.line, fields, ...(entityId === undefined ? {} : { entityId: String(entityId) }) }
  }

  /**
   * Reads lines, refuses the invalid ones at once and creates the others in batches, a few batches at a time;
   * yields the answers as they are known (not in line order), then the summary. Reading waits while the
   * batches are full, and the whole pipeline waits while the client does not read the answers.
   */
  async function * run (request: FastifyRequest, lines: AsyncIterable<NdjsonLine>): AsyncGenerator<string> {
    const summary: Summary = { lines: 0, created: 0, failed: 0, complete: true }
    let ready: string[] = []
    const answer = (line: number, outcome: CreateOutcome | { error: unknown }): void => {
      if ('state' in outcome) {
        summary.created++
        ready.push(JSON.stringify({ line, status: 201, entity_id: outcome.state.entity_id, ...(model.versioned ? { version: outcome.state.version } : {}) }))
        return
      }
      summary.failed++
      let problem = outcome.error
      if (!(problem instanceof VersoError)) {
        request.log.error({ err: problem, line }, 'bulk import: unexpected error')
        problem = internalError()
      }
      ready.push(JSON.stringify({ line, status: (problem as VersoError).statusCode, problem: problemBody(problem as VersoError, instance, String(request.id)) }))
    }
    const inFlight = new Set<Promise<void>>()
    let batch: Entry[] = []
    const flush = (): void => {
      const entries = batch
      batch = []
      const done: Promise<void> = createMany(repository, model, entries, { actor: request.callerId, traceparent: request.trace.traceparent })
        .then((outcomes) => { entries.forEach((entry, k) => { answer(entry.line, outcomes[k] ?? { error: undefined }) }) },
          (error: unknown) => { for (const entry of entries) answer(entry.line, { error }) })
        .finally(() => { inFlight.delete(done) })
      inFlight.add(done)
    }
    const take = (): string => {
      const text = ready.map((r) => `${r}\n`).join('')
      ready = []
      return text
    }
    try {
      for await (const line of lines) {
        summary.lines = line.line
        const entry = parse(line)
        if (entry instanceof VersoError) answer(line.line, { error: entry })
        else batch.push(entry)
        if (batch.length >= PACING.batch) flush()
        while (inFlight.size >= PACING.concurrency) await Promise.race(inFlight)
        if (ready.length > 0) yield take()
      }
    } catch (err) {
      // Past BULK_BODY_LIMIT_BYTES: the lines read so far are answered; the rest is not read.
      if (!(err instanceof VersoError)) throw err
      summary.complete = false
      summary.problem = problemBody(err, instance, String(request.id))
    }
    if (batch.length > 0) flush()
    await Promise.all([...inFlight])
    yield `${take()}${JSON.stringify({ summary })}\n`
  }

  return run
}
