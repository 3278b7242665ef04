import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { bodyTooLarge, internalError, lineTooLong, serverManagedField, validationFailed, VersoError } from '../errors.js'
import { SERVER_MANAGED_FIELDS, type Model } from '../models/define.js'
import type { BodyShapeLimits } from '../http/body-shape.js'
import { parseJsonBody } from '../http/json-body.js'
import { modelSchemas } from '../http/model-schemas.js'
import { ndjsonLines, type NdjsonLine } from '../http/ndjson.js'
import { problemBody } from '../http/problem.js'
import { ProblemRef } from '../http/schemas.js'
import { bodyAjv, validationError } from '../http/validation.js'
import type { EntityRepository } from '../repository/repository.js'
import { createMany, type CreateOutcome } from '../repository/bulk-create.js'
import type { Entity } from '../models/entity.js'

export const NDJSON = 'application/x-ndjson'

export interface BulkRoutesOptions {
  models: readonly Model[]
  repository: EntityRepository
  /** BODY_LIMIT_BYTES: the longest line (one entity's body). */
  lineLimit: number
  /** BULK_BODY_LIMIT_BYTES: the whole body. */
  bodyLimit: number
  shape: BodyShapeLimits
}

/** Lines per createMany call (one TransactWriteItems of 50 creates, 100 actions) and calls in flight per request. */
const BATCH = 50
const CONCURRENCY = 4

interface Entry { line: number, fields: Entity, entityId?: string }
interface Summary { lines: number, created: number, failed: number, complete: boolean, problem?: Record<string, unknown> }

const EXAMPLE_BODY = '{"title":"The Dispossessed","author":"Ursula K. Le Guin"}\n{"entity_id":"3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f","title":"Kindred","author":"Octavia E. Butler","rating":5}\n{"title":""}\n'
const EXAMPLE_ANSWER = '{"line":1,"status":201,"entity_id":"b7e2c1d0a9f84e3b8c6d5e4f3a2b1c0d","version":"019ac3f2b0c17d2e8f3a4b5c6d7e8f90"}\n' +
  '{"line":3,"status":400,"problem":{"type":"urn:verso:problem:validation-failed","title":"Request validation failed","status":400,"detail":"/body/title must NOT have fewer than 1 characters.","code":"VERSO_VALIDATION_FAILED","errors":[{"path":"/body/title","message":"must NOT have fewer than 1 characters"}]}}\n' +
  '{"line":2,"status":201,"entity_id":"3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f","version":"019ac3f2b0c27d2e8f3a4b5c6d7e8f91"}\n' +
  '{"summary":{"lines":3,"created":2,"failed":1,"complete":true}}\n'

/**
 * `POST /{model}/_bulk`: NDJSON in, NDJSON out, both streamed. Registered in a context of its own, so the
 * NDJSON parser (which hands the body over unread) serves these routes only.
 */
export async function bulkRoutes (app: FastifyInstance, options: BulkRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(NDJSON, (_request, payload, done) => { done(null, payload) })
  for (const model of options.models) registerBulkRoute(app, model, options)
}

function registerBulkRoute (app: FastifyInstance, model: Model, options: BulkRoutesOptions): void {
  const validate = bodyAjv.compile(modelSchemas(model).create)
  const managed = SERVER_MANAGED_FIELDS.filter((f) => f !== 'entity_id')
  const instance = `/${model.path}/_bulk`

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
    const present = managed.filter((f) => Object.hasOwn(body, f))
    if (present.length > 0) return serverManagedField(present)
    if (!validate(body)) return validationError(validate.errors ?? [], 'body')
    const { entity_id: entityId, ...fields } = body as Entity
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
      const done: Promise<void> = createMany(options.repository, model, entries, { actor: request.callerId, traceparent: request.trace.traceparent })
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
        if (batch.length >= BATCH) flush()
        while (inFlight.size >= CONCURRENCY) await Promise.race(inFlight)
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

  app.post(instance, {
    schema: {
      tags: [model.name],
      operationId: `bulkCreate${model.name}`,
      summary: `Create many ${model.name} entities from NDJSON (not atomic)`,
      description: `One ${model.name} body per line, as POST /${model.path} takes it (entity_id may be given; blank lines are skipped). Not atomic: every valid line is created on its own, with its own version and event; valid lines are committed ${BATCH} to a TransactWriteItems, ${CONCURRENCY} at a time, and a line whose create fails (its entity_id exists: 409) is answered and left out while the others of its batch commit. The answer streams back as NDJSON while the body is read, one line per input line, in the order they complete (not line order): {"line":N,"status":201,"entity_id":…,"version":…} or {"line":N,"status":4xx,"problem":{…}}, then {"summary":{"lines","created","failed","complete"}}. A line may be BODY_LIMIT_BYTES long (413 VERSO_LINE_TOO_LONG for that line); the body BULK_BODY_LIMIT_BYTES (413 at once when Content-Length says so; otherwise reading stops there and the summary has complete: false and the problem). The body must arrive within REQUEST_TIMEOUT_MS: split large files (npm run import does). No Idempotency-Key: give each line an entity_id to make a retry safe (lines already created then answer 409).`,
      body: { content: { [NDJSON]: { schema: { type: 'string', description: `One ${model.name} JSON object per line`, examples: [EXAMPLE_BODY] } } } },
      response: {
        200: { description: 'One answer per line, then a summary line (NDJSON, streamed)', content: { [NDJSON]: { schema: { type: 'string', examples: [EXAMPLE_ANSWER] } } } },
        413: { description: 'Content-Length is above BULK_BODY_LIMIT_BYTES; nothing was read', content: { 'application/problem+json': { schema: ProblemRef } } },
        415: { description: `Content-Type is not ${NDJSON}`, content: { 'application/problem+json': { schema: ProblemRef } } }
      }
    },
    // The body is a stream, read by the handler: nothing for a schema to validate.
    validatorCompiler: () => () => true,
    config: { acceptedTypes: [NDJSON] }
  }, async (request, reply) => {
    if (Number(request.headers['content-length'] ?? 0) > options.bodyLimit) throw bodyTooLarge(options.bodyLimit)
    const body = (request.body ?? Readable.from([])) as Readable
    const lines = ndjsonLines(body, options.lineLimit, options.bodyLimit)
    return await reply.type(`${NDJSON}; charset=utf-8`).send(Readable.from(run(request, lines)))
  })
}
