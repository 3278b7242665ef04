import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { transactionFailed, validationFailed, type FieldError, type OperationError, type VersoError } from '../errors.js'
import { fieldErrors } from '../models/validator.js'
import { validateMerged } from '../http/patch-validation.js'
import { serverManagedIn } from '../http/server-managed.js'
import { transact, TransactionFailedError, type TransactionOperation } from '../repository/transact.js'
import type { Entity } from '../models/entity.js'
import type { ServedModel } from './entity-schemas.js'
import { transactionRouteSchema, type OperationBody } from './transaction-schemas.js'

/** The models a transaction may name, by path, and the access check of each operation. */
interface Catalog {
  byPath: ReadonlyMap<string, ServedModel>
  known: string
  authorize: FastifyInstance['authorize']
}

/** Field errors of `fields` against the model's fields schema, with paths under `part`. */
const check = (entry: ServedModel, fields: unknown, part: string): FieldError[] => entry.validateFields(fields) ? [] : fieldErrors(entry.validateFields.errors ?? [], part)

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

/** The request's operations for the repository, or every error in them at once (400). */
function parse (catalog: Catalog, request: FastifyRequest, operations: readonly OperationBody[]): { parsed: TransactionOperation[], errors: FieldError[] } {
  const errors: FieldError[] = []
  const parsed: TransactionOperation[] = []
  const seen = new Map<string, number>()
  operations.forEach((body, index) => {
    const at = `/body/operations/${index}`
    const entry = catalog.byPath.get(body.model)
    if (entry === undefined) {
      errors.push({ path: `${at}/model`, message: `names no model (known: ${catalog.known})` })
      return
    }
    const { model } = entry
    catalog.authorize(request, model.path, body.op === 'check' ? 'read' : 'write')
    const fail = (path: string, message: string): void => { errors.push({ path: `${at}${path}`, message }) }
    if (body.id !== undefined) {
      const key = `${model.name} ${body.id}`
      const first = seen.get(key)
      if (first !== undefined) fail('/id', `names ${key}, as operation ${first} does: DynamoDB takes one action per entity in a transaction`)
      else seen.set(key, index)
    }
    const fields = body.body ?? body.patch
    const part = body.body === undefined ? 'patch' : 'body'
    for (const name of serverManagedIn(fields)) fail(`/${part}/${name}`, 'is managed by the server (use the operation\'s id and version)')
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
        const validate = (merged: Entity): void => { validateMerged(entry.validateFields, merged, fields ?? {}, `body/operations/${index}/patch`, `${model.name} ${id}`) }
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

/** `POST /_transactions`: creates, changes and checks on entities of any models, all or nothing. */
const transactionRoutes: FastifyPluginAsyncTypebox<{ served: readonly ServedModel[] }> = async (app, { served }) => {
  const byPath = new Map(served.map((entry) => [entry.model.path, entry]))
  const catalog: Catalog = { byPath, known: [...byPath.keys()].join(', '), authorize: app.authorize }

  app.post('/_transactions', { schema: transactionRouteSchema(served) }, async (request, reply) => {
    const { operations } = request.body
    const { parsed, errors } = parse(catalog, request, operations)
    if (errors.length > 0) throw validationFailed(errors.length === 1 ? `${errors[0]?.path ?? ''} ${errors[0]?.message ?? ''}.` : `${errors.length} problems in the operations.`, errors)
    return await app.idempotency.answer<Array<Entity | undefined>>(request, reply, async (idempotency) => {
      try {
        return await transact(app.repository.withDeadline(), parsed, { actor: request.callerId, traceparent: request.trace.traceparent, ...(idempotency === undefined ? {} : { idempotency }) })
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

export default transactionRoutes
