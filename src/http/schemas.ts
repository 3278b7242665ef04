import { Type } from 'typebox'
import { ID_PATTERN } from '../models/entity.js'

/** Shared schema pieces: ids, problem+json, pagination, response headers. */
export const Id = Type.String({ pattern: ID_PATTERN, description: '32 lowercase hex digits (a UUID without dashes)', examples: ['3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f'] })
export const VersionId = Type.String({ pattern: ID_PATTERN, description: 'A version id: 32 lowercase hex digits (verso writes UUIDv7)', examples: ['019ac3f2a4b67c1d8e2f3a4b5c6d7e8f'] })

export const PROBLEM_ID = 'Problem'
export const Problem = Type.Object({
  type: Type.String({ description: 'URI identifying the problem type', examples: ['urn:verso:problem:precondition-failed'] }),
  title: Type.String({ examples: ['Precondition failed'] }),
  status: Type.Integer({ examples: [412] }),
  detail: Type.String({ examples: ['If-Match does not match the current version (019ac3f2a4b67c1d8e2f3a4b5c6d7e8f).'] }),
  instance: Type.String({ description: 'The request path', examples: ['/person/3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f'] }),
  code: Type.String({ description: 'Stable verso error code', examples: ['VERSO_PRECONDITION_FAILED'] }),
  request_id: Type.Optional(Type.String({ description: 'The x-request-id of the answer; absent only when the request could not be read (408, 431, malformed HTTP)' })),
  current_version: Type.Optional(Type.String({ description: 'On 409/412: the version that is current now' })),
  errors: Type.Optional(Type.Array(Type.Object({
    path: Type.String({ description: 'JSON Pointer into the request part: /body/age, /querystring/limit', examples: ['/body/age'] }),
    message: Type.String({ examples: ['must be integer'] })
  })))
}, { $id: PROBLEM_ID, title: 'RFC 9457 problem details', additionalProperties: true })

export const ProblemRef = Type.Unsafe<typeof Problem>({ $ref: `${PROBLEM_ID}#` })

/**
 * Marks a response header the service always sends; the swagger plugin turns it into `required: true` of the
 * Header Object (fastify's response schemas have no place for it).
 */
export const REQUIRED_HEADER = 'x-verso-required'

/** A response header; `always` when every answer with this status carries it. */
export const header = (schema: Record<string, unknown>, always = true): Record<string, unknown> =>
  always ? { ...schema, [REQUIRED_HEADER]: true } : schema

/** A problem+json answer, with the headers it carries. */
export const problem = (description: string, headers?: Record<string, unknown>): Record<string, unknown> => ({
  description,
  ...(headers === undefined ? {} : { headers }),
  content: { 'application/problem+json': { schema: ProblemRef } }
})

export const RetryAfterHeader = { type: 'string', pattern: '^[0-9]+$', description: 'Seconds to wait before retrying', examples: ['1'] }

export const problemResponses = (...statuses: number[]): Record<number, unknown> =>
  Object.fromEntries(statuses.map((s) => [s, problem(PROBLEM_DESCRIPTIONS[s] ?? 'Problem', s === 503 ? { 'retry-after': header(RetryAfterHeader) } : undefined)]))

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (malformed JSON, unknown or server-managed field, wrong type, malformed id)',
  404: 'No such entity (or it is soft-deleted)',
  409: 'Conflict: the entity exists already, or the body version is stale',
  412: 'If-Match names a version that is no longer current',
  413: 'Body or entity too large',
  415: 'Unsupported Content-Type',
  428: 'The write needs If-Match or a body version',
  503: 'DynamoDB is not reachable, or did not finish within STORAGE_TIMEOUT_MS (VERSO_STORAGE_TIMEOUT: a write may or may not have committed)'
}

export const ETagHeader = header({ type: 'string', pattern: `^"${ID_PATTERN.replace(/^\^|\$$/g, '')}"$`, description: 'Strong entity tag: the version in quotes', examples: ['"019ac3f2a4b67c1d8e2f3a4b5c6d7e8f"'] })

/**
 * The body of a DELETE or restore: optional, as If-Match may carry the precondition instead. Fastify validates
 * a missing body as null; `nullable` (not a union) keeps a wrong version to one error message.
 */
export const OptionalVersionBody = Type.Unsafe<{ version?: string } | null>({
  type: 'object',
  nullable: true,
  properties: { version: { ...VersionId, description: 'The current version (alternative to If-Match)' } },
  additionalProperties: false,
  examples: [{ version: '019ac3f2a4b67c1d8e2f3a4b5c6d7e8f' }]
})

/** Schema key of a query parameter the service takes but the document leaves out (it can never succeed there). */
export const UNDOCUMENTED = 'x-verso-undocumented'

/** Route-schema key: the body may be left out (the swagger plugin makes requestBody not required). */
export const OPTIONAL_BODY = 'x-verso-optional-body'
