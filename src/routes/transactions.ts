import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type, type Static, type TSchema } from 'typebox'
import { transactionFailed, validationFailed, VersoError, type FieldError, type OperationError } from '../errors.js'
import { SERVER_MANAGED_FIELDS, type Model } from '../models/define.js'
import { ID_PATTERN } from '../models/entity.js'
import { IdempotencyKeyHeader, idempotencyProblems, ReplayedHeader } from '../http/idempotency-key.js'
import { modelSchemas } from '../http/model-schemas.js'
import { Id, problem, problemResponses, VersionId } from '../http/schemas.js'
import type { ValidateFunction } from 'ajv'
import { bodyAjv, fieldErrors } from '../http/validation.js'
import { validateMerged } from '../http/patch-validation.js'
import type { EntityRepository } from '../repository/repository.js'
import { MAX_TRANSACTION_ACTIONS, transact, TransactionFailedError, type TransactionOperation } from '../repository/transact.js'
import type { Entity } from '../models/entity.js'

const ModelPath = Type.String({ minLength: 1, maxLength: 100, description: 'Path segment of the model (`person`, `book`)', examples: ['book'] })
const Fields = (description: string): TSchema => Type.Object({}, { additionalProperties: true, description })
const BaseVersion = Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'The version this write is based on (the precondition; required on versioned models)' }))
const operation = <P extends Record<string, TSchema>>(op: string, description: string, properties: P): TSchema =>
  Type.Object({ op: Type.Literal(op), model: ModelPath, ...properties }, { additionalProperties: false, description })

const Operation = Type.Unsafe<OperationBody>({
  oneOf: [
    operation('create', 'Create an entity; id is generated when left out. 2 actions.', { id: Type.Optional(Id), body: Fields("The entity's fields, as POST /{model} takes them") }),
    operation('replace', 'Full replacement (a new version). Versioned: 3 actions; not versioned: 2 (created when absent).', { id: Id, version: BaseVersion, body: Fields("The entity's fields, as PUT takes them") }),
    operation('patch', 'RFC 7396 JSON Merge Patch on the current fields. Versioned: 3 actions; not versioned: 2.', { id: Id, version: BaseVersion, patch: Fields('Members present replace, null removes, objects merge') }),
    operation('delete', 'Soft delete (versioned, 3 actions) or delete (not versioned, 2).', { id: Id, version: BaseVersion }),
    operation('restore', 'A new version whose fields equal those of restore_version (versioned models only; undeletes). 3 actions.', { id: Id, version: VersionId, restore_version: VersionId }),
    operation('check', 'Writes nothing; the transaction commits only if the entity is at `version`, or exists (not soft-deleted) or not, as `exists` says. 1 action. Needs read access only.', {
      id: Id,
      version: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'The version that must be current' })),
      exists: Type.Optional(Type.Boolean({ description: 'true: must exist and not be soft-deleted; false: must not' }))
    })
  ],
  discriminator: { propertyName: 'op' }
})

interface OperationBody {
  op: 'create' | 'replace' | 'patch' | 'delete' | 'restore' | 'check'
  model: string
  id?: string
  version?: string
  body?: Entity
  patch?: Entity
  restore_version?: string
  exists?: boolean
}

const EXAMPLE_ID = '3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f'
const EXAMPLE_VERSION = '019ac3f2a4b67c1d8e2f3a4b5c6d7e8f'
const TransactionBody = Type.Object({
  operations: Type.Array(Operation, {
    minItems: 1,
    maxItems: MAX_TRANSACTION_ACTIONS,
    description: `Committed as one DynamoDB TransactWriteItems, which holds at most ${MAX_TRANSACTION_ACTIONS} actions: a versioned replace, patch, delete or restore takes 3 (new version, audit copy, event), a create or a non-versioned write 2, a check 1, and an Idempotency-Key 1 more. Up to 33 operations of any kind always fit; more are refused with 400 (VERSO_TRANSACTION_TOO_LARGE) when their actions exceed ${MAX_TRANSACTION_ACTIONS}, as are items (new versions, audit copies, events) over 4 MiB in all. Each entity at most once.`
  })
}, {
  additionalProperties: false,
  examples: [{
    operations: [
      { op: 'create', model: 'person', body: { first_name: 'Ursula', last_name: 'Le Guin' } },
      { op: 'patch', model: 'book', id: EXAMPLE_ID, version: EXAMPLE_VERSION, patch: { status: 'finished', rating: 5 } },
      { op: 'check', model: 'person', id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', exists: true }
    ]
  }]
})
type TransactionRequest = Static<typeof TransactionBody>

/**
 * One result per model and kind of operation, so that a client narrowing on `model` (and `op`) gets the model's
 * entity typed: a write leaves an entity, a check finds one or none.
 */
function transactionResult (models: readonly Model[]): TSchema {
  const results = models.flatMap((model) => {
    const entity = modelSchemas(model).entityRef
    const common = { model: Type.Literal(model.path), entity_id: Id }
    const writes = model.versioned ? ['create', 'replace', 'patch', 'delete', 'restore'] : ['create', 'replace', 'patch', 'delete']
    return [
      Type.Object({ op: Type.Enum(writes), ...common, entity }, { title: `${model.name}WriteResult`, description: `The ${model.name} the operation left (a delete: its final state)` }),
      Type.Object({ op: Type.Literal('check'), ...common, entity: Type.Union([entity, Type.Null()], { description: 'The current state; null when absent' }) }, { title: `${model.name}CheckResult` })
    ]
  })
  return Type.Object({ results: Type.Array(Type.Union(results)) }, {
    description: 'Committed: one result per operation, in order',
    examples: [{
      results: [
        { op: 'create', model: 'person', entity_id: 'b7e2c1d0a9f84e3b8c6d5e4f3a2b1c0d', entity: { entity_id: 'b7e2c1d0a9f84e3b8c6d5e4f3a2b1c0d', version: '019ac3f2b0c17d2e8f3a4b5c6d7e8f90', previous_version: '00000000000040008000000000000000', active: true, changed_by_id: '00000000000040008000000000000000', changed_on: '2026-11-26T23:51:48.540000+00:00', first_name: 'Ursula', last_name: 'Le Guin' } },
        { op: 'patch', model: 'book', entity_id: EXAMPLE_ID, entity: { entity_id: EXAMPLE_ID, version: '019ac3f2b0c27d2e8f3a4b5c6d7e8f91', previous_version: EXAMPLE_VERSION, active: true, changed_by_id: '00000000000040008000000000000000', changed_on: '2026-11-26T23:51:48.541000+00:00', title: 'The Dispossessed', author: 'Ursula K. Le Guin', status: 'finished', rating: 5 } },
        { op: 'check', model: 'person', entity_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', entity: { entity_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', version: '019ac3f2a4b67c1d8e2f3a4b5c6d7e8f', previous_version: '00000000000040008000000000000000', active: true, changed_by_id: '00000000000040008000000000000000', changed_on: '2026-11-26T23:51:48.540000+00:00', first_name: 'Ada', last_name: 'Lovelace' } }
      ]
    }]
  })
}

interface ModelEntry { model: Model, fields: ValidateFunction }

/** Field errors of `fields` against the model's fields schema, with paths under `part`. */
const check = (entry: ModelEntry, fields: unknown, part: string): FieldError[] => entry.fields(fields) ? [] : fieldErrors(entry.fields.errors ?? [], part)

/** The answer of one failed operation: its own problem (a stale version is a 409, as for a body version). */
function operationError (index: number, problem: VersoError): OperationError {
  const current = problem.extra.current_version
  return {
    path: `/body/operations/${index}`,
    message: problem.message,
    operation: index,
    code: problem.code,
    status: problem.statusCode,
    ...(typeof current === 'string' ? { current_version: current } : {})
  }
}

/** `POST /_transactions`: creates, changes and checks on entities of any models, all or nothing. */
export function registerTransactionRoutes (app: FastifyInstance, models: readonly Model[], repository: EntityRepository): void {
  const byPath = new Map<string, ModelEntry>(models.map((model) => [model.path, { model, fields: bodyAjv.compile(modelSchemas(model).fields) }]))
  const known = [...byPath.keys()].join(', ')

  /** The request's operations for the repository, or every error in them at once (400). */
  const parse = (request: FastifyRequest, operations: readonly OperationBody[]): { parsed: TransactionOperation[], errors: FieldError[] } => {
    const errors: FieldError[] = []
    const parsed: TransactionOperation[] = []
    const seen = new Map<string, number>()
    operations.forEach((body, index) => {
      const at = `/body/operations/${index}`
      const entry = byPath.get(body.model)
      if (entry === undefined) {
        errors.push({ path: `${at}/model`, message: `names no model (known: ${known})` })
        return
      }
      const { model } = entry
      app.authorize(request, model.path, body.op === 'check' ? 'read' : 'write')
      const fail = (path: string, message: string): void => { errors.push({ path: `${at}${path}`, message }) }
      if (body.id !== undefined) {
        const key = `${model.name} ${body.id}`
        const first = seen.get(key)
        if (first !== undefined) fail('/id', `names ${key}, as operation ${first} does: DynamoDB takes one action per entity in a transaction`)
        else seen.set(key, index)
      }
      const fields = body.body ?? body.patch
      const part = body.body === undefined ? 'patch' : 'body'
      if (fields !== undefined) {
        for (const name of SERVER_MANAGED_FIELDS.filter((f) => Object.hasOwn(fields, f))) fail(`/${part}/${name}`, 'is managed by the server (use the operation\'s id and version)')
      }
      if (body.op === 'check') {
        if ((body.version === undefined) === (body.exists === undefined)) fail('', 'needs either version or exists')
        else if (body.version !== undefined && !model.versioned) fail('/version', `is not allowed: ${model.name} is not versioned`)
        parsed.push({ kind: 'check', model, id: String(body.id), expect: body.version === undefined ? { exists: body.exists === true } : { version: body.version } })
        return
      }
      if (body.op === 'create') {
        errors.push(...check(entry, fields, `body/operations/${index}/body`))
        parsed.push({ kind: 'create', model, ...(body.id === undefined ? {} : { id: body.id }), fields: fields ?? {} })
        return
      }
      if (body.op === 'restore' && !model.versioned) fail('/op', `${model.name} is not versioned: it has no versions to restore`)
      if (model.versioned && body.version === undefined) fail('/version', 'is required: the version this write is based on')
      if (!model.versioned && body.version !== undefined) fail('/version', `is not allowed: ${model.name} is not versioned`)
      const id = String(body.id)
      const expected = body.version === undefined ? {} : { expected: body.version }
      switch (body.op) {
        case 'replace':
          errors.push(...check(entry, fields, `body/operations/${index}/body`))
          parsed.push({ kind: 'change', model, id, ...expected, change: { kind: 'replace', fields: fields ?? {} } })
          break
        case 'patch': {
          // The merged fields are what must be valid; they are known once the current ones are read.
          const validate = (merged: Entity): void => { validateMerged(entry.fields, merged, fields ?? {}, `body/operations/${index}/patch`, `${model.name} ${id}`) }
          parsed.push({ kind: 'change', model, id, ...expected, change: { kind: 'patch', patch: fields ?? {}, validate } })
          break
        }
        case 'delete':
          parsed.push({ kind: 'change', model, id, ...expected, change: { kind: 'delete' } })
          break
        case 'restore':
          parsed.push({ kind: 'change', model, id, ...expected, change: { kind: 'restore', version: String(body.restore_version) } })
          break
      }
    })
    return { parsed, errors }
  }

  app.post('/_transactions', {
    schema: {
      tags: ['Transactions'],
      operationId: 'commitTransaction',
      summary: 'Commit creates, changes and checks on several entities, all or nothing',
      description: 'Every operation names its model and, except a create, its entity and precondition (version). The current items are read at once, then every write with its audit copy and event (one event per written version) and every check are committed as one DynamoDB TransactWriteItems: all or nothing. Each operation needs write access to its model (a check read access). A failure answers VERSO_TRANSACTION_FAILED with the status of the first failed operation (409 stale version or existing entity, 404 missing entity or version, 400 invalid merged fields) and one errors[] entry per failed operation: its index (operation), code, status and, when stale, current_version. Nothing is written then.',
      headers: Type.Object({ 'idempotency-key': IdempotencyKeyHeader }),
      body: TransactionBody,
      response: {
        200: { ...transactionResult(models), headers: { 'idempotent-replayed': ReplayedHeader } },
        400: problem('Invalid operations (unknown model, invalid body, missing version, an entity named twice) or over DynamoDB\'s transaction limits (VERSO_TRANSACTION_TOO_LARGE); nothing was written'),
        404: problem('An operation\'s entity (or restore version) does not exist; nothing was written'),
        ...idempotencyProblems('An operation\'s version is stale, its entity exists already or a check failed; nothing was written'),
        413: problem('Body too large'),
        415: problem('Unsupported Content-Type'),
        ...problemResponses(503)
      }
    }
  }, async (request, reply) => {
    const { operations } = request.body as TransactionRequest
    const { parsed, errors } = parse(request, operations as OperationBody[])
    if (errors.length > 0) throw validationFailed(errors.length === 1 ? `${errors[0]?.path ?? ''} ${errors[0]?.message ?? ''}.` : `${errors.length} problems in the operations.`, errors)
    return await app.idempotency.answer<Array<Entity | undefined>>(request, reply, async (idempotency) => {
      try {
        return await transact(repository.withDeadline(), parsed, { actor: request.callerId, traceparent: request.trace.traceparent, ...(idempotency === undefined ? {} : { idempotency }) })
      } catch (err) {
        throw err instanceof TransactionFailedError ? transactionFailed(err.failures.map((f) => operationError(f.index, f.error))) : err
      }
    }, (states) => ({
      status: 200,
      headers: {},
      body: {
        results: parsed.map((op, index) => {
          const entity = states[index]
          return { op: operations[index]?.op, model: op.model.path, entity_id: entity?.entity_id ?? op.id, entity: entity ?? null }
        })
      }
    }))
  })
}
