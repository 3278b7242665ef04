import { Type, type TSchema } from 'typebox'
import { ID_PATTERN, type Entity } from '../models/entity.js'
import { IdempotencyKeyHeader, idempotencyProblems, ReplayedHeader } from '../http/idempotency-key.js'
import { Id, problem, problemResponses, VersionId } from '../http/schemas.js'
import { MAX_TRANSACTION_ACTIONS } from '../repository/transact.js'
import type { ServedModel } from './entity-schemas.js'

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

/** An operation as the route reads it: the schema is a oneOf on `op`, so every member but op and model is optional here. */
export interface OperationBody {
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

/**
 * One result per model and kind of operation, so that a client narrowing on `model` (and `op`) gets the model's
 * entity typed: a write leaves an entity, a check finds one or none.
 */
function transactionResult (served: readonly ServedModel[]): TSchema {
  const results = served.flatMap(({ model, schemas }) => {
    const entity = schemas.entityRef
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

/** The schema of `POST /_transactions` (docs/transactions-and-bulk.md): the operations of every model served, and their results. */
export function transactionRouteSchema (served: readonly ServedModel[]) {
  return {
    tags: ['Transactions'],
    operationId: 'commitTransaction',
    summary: 'Commit creates, changes and checks on several entities, all or nothing',
    description: 'Every operation names its model and, except a create, its entity and precondition (version). The current items are read at once, then every write with its audit copy and event (one event per written version) and every check are committed as one DynamoDB TransactWriteItems: all or nothing. Each operation needs write access to its model (a check read access). A failure answers VERSO_TRANSACTION_FAILED with the status of the first failed operation (409 stale version or existing entity, 404 missing entity or version, 400 invalid merged fields) and one errors[] entry per failed operation: its index (operation), code, status and, when stale, current_version. Nothing is written then.',
    headers: Type.Object({ 'idempotency-key': IdempotencyKeyHeader }),
    body: TransactionBody,
    response: {
      200: { ...transactionResult(served), headers: { 'idempotent-replayed': ReplayedHeader } },
      400: problem('Invalid operations (unknown model, invalid body, missing version, an entity named twice) or over DynamoDB\'s transaction limits (VERSO_TRANSACTION_TOO_LARGE); nothing was written'),
      404: problem('An operation\'s entity (or restore version) does not exist; nothing was written'),
      ...idempotencyProblems('An operation\'s version is stale, its entity exists already or a check failed; nothing was written'),
      413: problem('Body too large'),
      415: problem('Unsupported Content-Type'),
      ...problemResponses(503)
    }
  }
}
