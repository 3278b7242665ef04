/**
 * Every error verso answers with, in one place. Codes are stable and never reused; the HTTP error handler
 * turns a VersoError into RFC 9457 problem+json (src/http/problem.ts).
 */
export interface FieldError { path: string, message: string }

export class VersoError extends Error {
  constructor (
    readonly code: string,
    readonly statusCode: number,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly errors?: FieldError[]
  ) {
    super(detail)
    this.name = 'VersoError'
  }

  /** The problem type URI: stable, derived from the code. */
  get type (): string {
    return `urn:verso:problem:${this.code.replace(/^VERSO_/, '').toLowerCase().replaceAll('_', '-')}`
  }
}

export const validationFailed = (detail: string, errors: FieldError[]): VersoError =>
  new VersoError('VERSO_VALIDATION_FAILED', 400, 'Request validation failed', detail, {}, errors)

export const badRequest = (detail: string): VersoError =>
  new VersoError('VERSO_BAD_REQUEST', 400, 'Bad request', detail)

export const malformedJson = (): VersoError =>
  new VersoError('VERSO_MALFORMED_JSON', 400, 'Malformed JSON', 'The request body is not valid JSON.')

export const serverManagedField = (fields: string[]): VersoError =>
  new VersoError('VERSO_SERVER_MANAGED_FIELD', 400, 'Server-managed field in request body',
    `${fields.join(', ')} ${fields.length === 1 ? 'is' : 'are'} managed by the server and cannot be set by a request.`,
    {}, fields.map((f) => ({ path: `/body/${f}`, message: 'is managed by the server' })))

export const unsupportedMediaType = (contentType: string | undefined, accepted: string[]): VersoError =>
  new VersoError('VERSO_UNSUPPORTED_MEDIA_TYPE', 415, 'Unsupported media type',
    `Content-Type ${contentType === undefined || contentType === '' ? '(none)' : JSON.stringify(contentType.slice(0, 100))} is not accepted here; send ${accepted.join(' or ')}.`)

export const bodyTooLarge = (limit: number): VersoError =>
  new VersoError('VERSO_BODY_TOO_LARGE', 413, 'Request body too large', `The request body is larger than ${limit} bytes.`)

export const itemTooLarge = (): VersoError =>
  new VersoError('VERSO_ENTITY_TOO_LARGE', 413, 'Entity too large', 'The entity is larger than DynamoDB can store in one item (400 KB including its metadata).')

export const unstorableValue = (): VersoError =>
  new VersoError('VERSO_UNSTORABLE_VALUE', 400, 'Value cannot be stored', 'A field name or value in the entity is outside what DynamoDB can store (for example an empty field name, or a number with more than 38 significant digits or an exponent beyond ±125).')

export const malformedHttp = (): VersoError =>
  new VersoError('VERSO_MALFORMED_HTTP', 400, 'Malformed HTTP request', 'The request is not valid HTTP/1.1.')

export const missingHost = (): VersoError =>
  new VersoError('VERSO_MISSING_HOST', 400, 'Missing Host header', 'An HTTP/1.1 request needs a Host header (RFC 9112 §3.2).')

export const expectationFailed = (): VersoError =>
  new VersoError('VERSO_EXPECTATION_FAILED', 417, 'Expectation failed', 'The only expectation this server meets is Expect: 100-continue.')

export const headersTooLarge = (): VersoError =>
  new VersoError('VERSO_HEADERS_TOO_LARGE', 431, 'Request header fields too large', 'The request headers are larger than the server accepts.')

export const requestTimeout = (): VersoError =>
  new VersoError('VERSO_REQUEST_TIMEOUT', 408, 'Request timeout', 'The request was not received in time.')

/** `served`: the filters an index would serve (indexedFilters in src/repository/query.ts). */
export const scanRefused = (model: string, served: readonly string[]): VersoError =>
  new VersoError('VERSO_SCAN_REFUSED', 400, 'Scan refused',
    `SCAN_POLICY=deny: this query would scan the whole ${model} table. ${served.length === 0
      ? `${model} has no index.`
      : `An index serves a filter only when it names all of the index's key fields (an index holds only the items that have them): ${served.join(' or ')}.`}`)

export const authenticationRequired = (how: string): VersoError =>
  new VersoError('VERSO_AUTHENTICATION_REQUIRED', 401, 'Authentication required', `This request needs credentials: ${how}.`)

export const invalidCredentials = (detail: string): VersoError =>
  new VersoError('VERSO_INVALID_CREDENTIALS', 401, 'Invalid credentials', detail)

export const insufficientScope = (scope: string): VersoError =>
  new VersoError('VERSO_INSUFFICIENT_SCOPE', 403, 'Insufficient scope',
    `This request needs the scope ${scope}${scope.endsWith(':read') ? ` (or ${scope.replace(/:read$/, ':write')})` : ''}; *:read and *:write grant every model.`,
    { required_scope: scope })

export const authUnavailable = (): VersoError =>
  new VersoError('VERSO_AUTH_UNAVAILABLE', 503, 'Authentication unavailable', 'The keys that verify tokens cannot be fetched right now; retry later.', { retry_after_s: 1 })

export const routeNotFound = (method: string, url: string): VersoError =>
  new VersoError('VERSO_ROUTE_NOT_FOUND', 404, 'Not found', `No route ${method} ${url.split('?')[0]?.slice(0, 200) ?? ''}.`)

export const entityNotFound = (model: string, id: string): VersoError =>
  new VersoError('VERSO_ENTITY_NOT_FOUND', 404, 'Entity not found', `${model} ${id} does not exist or has been deleted.`)

export const versionNotFound = (model: string, id: string, version: string): VersoError =>
  new VersoError('VERSO_VERSION_NOT_FOUND', 404, 'Version not found', `${model} ${id} has no version ${version}.`)

export const notVersioned = (model: string): VersoError =>
  new VersoError('VERSO_NOT_VERSIONED', 405, 'Not versioned', `${model} is not versioned: it keeps no history, so there are no versions to read, compare or restore.`)

export const alreadyExists = (model: string, id: string): VersoError =>
  new VersoError('VERSO_ALREADY_EXISTS', 409, 'Entity already exists', `${model} ${id} already exists.`)

export const preconditionRequired = (detail = 'This write needs the version it is based on: send If-Match: "<version>" or "version" in the body.'): VersoError =>
  new VersoError('VERSO_PRECONDITION_REQUIRED', 428, 'Precondition required', detail)

export const preconditionFailed = (currentVersion: string | undefined): VersoError =>
  new VersoError('VERSO_PRECONDITION_FAILED', 412, 'Precondition failed',
    `If-Match does not match the current version${currentVersion === undefined ? '' : ` (${currentVersion})`}.`, { current_version: currentVersion })

export const versionConflict = (currentVersion: string | undefined): VersoError =>
  new VersoError('VERSO_VERSION_CONFLICT', 409, 'Version conflict',
    `The version in the body is not the current version${currentVersion === undefined ? '' : ` (${currentVersion})`}.`, { current_version: currentVersion })

/** Where the client named the version a write is based on: it decides how a stale one is answered. */
export type VersionSource = 'if-match' | 'body'

/**
 * The version a write was based on is no longer current (`current` is the one that is): 412 when If-Match
 * named it, 409 when the body did (also inside a transaction, whose versions are in the body).
 */
export const staleVersion = (source: VersionSource, current: string | undefined): VersoError =>
  source === 'if-match' ? preconditionFailed(current) : versionConflict(current)

export const auditConflict = (model: string, id: string, version: string): VersoError =>
  new VersoError('VERSO_AUDIT_CONFLICT', 409, 'Audit conflict', `The audit table already holds version ${version} of ${model} ${id}; nothing was written.`)

export const writeContention = (): VersoError =>
  new VersoError('VERSO_WRITE_CONTENTION', 409, 'Concurrent write', 'Another write to the same entity was in progress; read it again and retry.')

export const invalidIdempotencyKey = (): VersoError =>
  new VersoError('VERSO_INVALID_IDEMPOTENCY_KEY', 400, 'Invalid Idempotency-Key',
    'Idempotency-Key must be sent once, as 1 to 255 visible ASCII characters other than " and \\ (no spaces), bare or as a quoted string.')

export const idempotencyKeyReused = (): VersoError =>
  new VersoError('VERSO_IDEMPOTENCY_KEY_REUSED', 422, 'Idempotency-Key reused',
    'This Idempotency-Key was used for a different request (another path, body or precondition); nothing was written. Use a new key for a new request.')

export const idempotencyKeyInFlight = (): VersoError =>
  new VersoError('VERSO_IDEMPOTENCY_KEY_IN_FLIGHT', 409, 'Request in flight',
    'A request with this Idempotency-Key is still being processed; retry after a moment to get its answer.', { retry_after_s: 1 })

export const serviceUnavailable = (): VersoError =>
  new VersoError('VERSO_STORAGE_UNAVAILABLE', 503, 'Service unavailable', 'The storage backend is not reachable right now; retry later.', { retry_after_s: 1 })

export const storageTimeout = (): VersoError =>
  new VersoError('VERSO_STORAGE_TIMEOUT', 503, 'Storage timeout',
    'The storage backend did not finish this request in the time allowed. A write may or may not have been committed: read the entity before writing again, or retry with the same Idempotency-Key.', { retry_after_s: 1 })

export const bodyTooDeep = (maxDepth: number): VersoError =>
  new VersoError('VERSO_BODY_TOO_DEEP', 400, 'Request body nested too deeply',
    `The JSON body nests objects and arrays more than ${maxDepth} levels deep (the body itself is level 1).`)

export const bodyTooManyFields = (maxFields: number): VersoError =>
  new VersoError('VERSO_BODY_TOO_MANY_FIELDS', 400, 'Request body has too many fields',
    `The JSON body has more than ${maxFields} fields (object members and array elements, counted at every level).`)

export const rateLimited = (limit: number, retryAfterS: number): VersoError =>
  new VersoError('VERSO_RATE_LIMITED', 429, 'Too many requests',
    `This caller has made more than ${limit} requests in the current window; retry after ${retryAfterS} s.`, { retry_after_s: retryAfterS })

export const overloaded = (retryAfterS: number): VersoError =>
  new VersoError('VERSO_OVERLOADED', 503, 'Service overloaded',
    `This replica is too busy to take the request; retry after ${retryAfterS} s.`, { retry_after_s: retryAfterS })

export const internalError = (): VersoError =>
  new VersoError('VERSO_INTERNAL', 500, 'Internal server error', 'An unexpected error occurred. It has been logged with the request id.')

/** One failed operation of a multi-entity transaction: its index in the request and its own problem. */
export interface OperationError extends FieldError { operation: number, code: string, status: number, current_version?: string }

export const transactionTooLarge = (detail: string): VersoError =>
  new VersoError('VERSO_TRANSACTION_TOO_LARGE', 400, 'Transaction too large', `${detail} Nothing was written; split the operations over several transactions.`)

/** The status is that of the first failed operation (404, 409, 400…); errors[] lists every one. */
export const transactionFailed = (failures: OperationError[]): VersoError =>
  new VersoError('VERSO_TRANSACTION_FAILED', failures[0]?.status ?? 409, 'Transaction failed',
    `${failures.map((f) => `Operation ${f.operation} failed: ${f.message}`).join(' ')} Nothing was written.`, {}, failures)

export const lineTooLong = (limit: number): VersoError =>
  new VersoError('VERSO_LINE_TOO_LONG', 413, 'Line too long', `The line is longer than ${limit} bytes (BODY_LIMIT_BYTES, the largest body of one entity); it was skipped.`)

/** A value of a stored entity that its model refuses: `path` points into the entity; `value` is absent when the field is missing. */
export interface StoredFieldError { path: string, message: string, value?: unknown }

/**
 * A patch that leaves invalid what it did not touch: the entity as stored (another writer's, or from before a
 * model change) does not fit the model. 409, as RFC 9110 has it for a request that conflicts with the current
 * state of the resource: the same patch succeeds on a valid entity, and the fix is to the stored fields.
 */
export const storedStateInvalid = (subject: string, fields: StoredFieldError[]): VersoError => {
  const described = fields.map((f) => `${f.path.slice(1)} ${'value' in f ? `is ${JSON.stringify(f.value)?.slice(0, 100) ?? String(f.value)}` : 'is missing'} (${f.message})`)
  const names = [...new Set(fields.map((f) => f.path.split('/')[1]))]
  return new VersoError('VERSO_STORED_STATE_INVALID', 409, 'Stored entity does not fit the model',
    `${subject} as stored does not fit its model: ${described.join('; ')}. The patch would keep ${names.length === 1 ? 'this value' : 'these values'}: send ${names.join(', ')} in the patch with a valid value (null removes an optional field), or replace the whole entity with PUT.`,
    { stored_fields: fields })
}
