import { Type, type TUnsafe } from 'typebox'
import type { Model } from '../models/define.js'
import type { ModelSchemas } from '../http/model-schemas.js'
import { ETagHeader, Id, OPTIONAL_BODY, OptionalVersionBody, problemResponses, VersionId } from '../http/schemas.js'
import { IdempotencyKeyHeader, idempotencyProblems, ReplayedHeader } from '../http/idempotency-key.js'

const IdParams = Type.Object({ id: Id })
const VersionParams = Type.Object({ id: Id, version: VersionId })
const time = (description: string): ReturnType<typeof Type.String> => Type.String({ format: 'date-time', description, examples: ['2026-11-26T23:51:48.540000+00:00'] })

/** A page of the history, as the route reads it once validated (ajv fills in the default limit). */
interface HistoryQuery { limit: number, cursor?: string, from?: string, to?: string }
const historyQuery = (): TUnsafe<HistoryQuery> => Type.Unsafe<HistoryQuery>(Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size' })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'next_cursor of the previous page' })),
  from: Type.Optional(time('Only versions whose changed_on is at or after this time')),
  to: Type.Optional(time('Only versions whose changed_on is at or before this time'))
}, { additionalProperties: false }))

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
 * The route schemas of a model's history (docs/history.md). Undocumented when the model is not versioned:
 * an operation that can only answer 405 is not one to generate a client for.
 */
export function historyRouteSchemas (model: Model, { entityRef, list }: ModelSchemas) {
  const { name, versioned } = model
  const hide = versioned ? {} : { hide: true }
  const tags = [name]
  return {
    list: {
      ...hide,
      tags,
      operationId: `list${name}Versions`,
      summary: `History of a ${name}, newest first`,
      description: versioned
        ? 'Every version, the current one first, then the replaced ones from the audit table. from/to bound changed_on (inclusive). A page of a verso-written history is one Query; histories holding Rococo-written (UUIDv4) versions are read whole and sorted by changed_on for every page. A history read whole that is not one chain (forked or gapped) is answered with a Verso-Chain header: the page is then in changed_on order, not a chain.'
        : `${name} is not versioned: 405.`,
      params: IdParams,
      querystring: historyQuery(),
      response: { 200: { ...list, description: 'A page of versions, newest first', headers: { 'verso-chain': ChainHeader } }, ...problemResponses(400, 404, 503) }
    },
    integrity: {
      ...hide,
      tags,
      operationId: `check${name}Integrity`,
      summary: `Whether the versions of a ${name} form one chain`,
      description: versioned
        ? 'Reads every version (the current one and the whole audit table partition) and reports forks (two or more versions naming the same predecessor: a writer saved without the optimistic lock, and one of the updates was lost) and gaps (a predecessor named but stored nowhere). verso\'s own writes never fork; Rococo\'s published DynamoDB save (no lock) can. Soft-deleted entities are checked too.'
        : `${name} is not versioned: 405.`,
      params: IdParams,
      response: { 200: { ...IntegrityReport, description: 'The chain report' }, ...problemResponses(400, 404, 503) }
    },
    version: {
      ...hide,
      tags,
      operationId: `get${name}Version`,
      summary: `One version of a ${name}, past or current`,
      params: VersionParams,
      response: { 200: { ...entityRef, description: 'The version', headers: { etag: ETagHeader } }, ...problemResponses(400, 404, 503) }
    },
    diff: {
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
    },
    restore: {
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
    }
  }
}
