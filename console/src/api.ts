/** RFC 9457 problem+json as verso answers it (docs/api.md), or the same shape for a network failure. */
export interface Problem {
  status: number
  title: string
  detail?: string
  code?: string
  type?: string
  request_id?: string
  current_version?: string
  errors?: Array<{ path: string, message: string }>
}

export class ApiError extends Error {
  constructor (readonly problem: Problem) {
    super(problem.detail ?? problem.title)
  }
}

export interface Answer<T> {
  body: T
  headers: Headers
  status: number
}

/** The key or token typed in once, kept for this tab only: sessionStorage, never localStorage or a cookie. */
const CREDENTIALS = 'verso.console.credentials'
export const credentials = {
  get: (): string | null => sessionStorage.getItem(CREDENTIALS),
  set: (value: string): void => { sessionStorage.setItem(CREDENTIALS, value) },
  clear: (): void => { sessionStorage.removeItem(CREDENTIALS) }
}

/**
 * A call to verso's API on this origin. A key or token goes as `Authorization: Bearer`, which AUTH_MODE=jwt
 * and AUTH_MODE=api-key both take; without one the call is anonymous (AUTH_MODE=none). Any answer but 2xx is
 * thrown as an ApiError holding its problem.
 */
export async function api<T> (path: string, init: { method?: string, headers?: Record<string, string> } = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...init.headers }
  const secret = credentials.get()
  if (secret !== null) headers.authorization = `Bearer ${secret}`
  let response: Response
  try {
    response = await fetch(path, { method: init.method ?? 'GET', headers, credentials: 'omit', cache: 'no-store' })
  } catch (err) {
    throw new ApiError({ status: 0, title: 'verso could not be reached', detail: err instanceof Error ? err.message : String(err) })
  }
  const text = await response.text()
  let body: unknown = null
  try {
    body = text === '' ? null : JSON.parse(text)
  } catch {
    body = null
  }
  if (!response.ok) {
    const problem = (typeof body === 'object' && body !== null ? body : {}) as Partial<Problem>
    throw new ApiError({ ...problem, status: response.status, title: problem.title ?? response.statusText })
  }
  return { body: body as T, headers: response.headers, status: response.status }
}

export const problemOf = (err: unknown): Problem =>
  err instanceof ApiError ? err.problem : { status: 0, title: 'Unexpected error', detail: err instanceof Error ? err.message : String(err) }

export interface ModelInfo {
  name: string
  path: string
  description: string
  versioned: boolean
  indexes: Array<{ name: string, hash: string, range?: string }>
  schema: { properties?: Record<string, JsonSchema>, required?: string[] }
}

export interface JsonSchema {
  type?: string | string[]
  anyOf?: JsonSchema[]
  enum?: unknown[]
  description?: string
}

export type Entity = Record<string, unknown> & { entity_id: string, version?: string, previous_version?: string, active?: boolean, changed_by_id?: string, changed_on?: string }

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

export interface PatchOperation {
  op: string
  path: string
  from?: string
  value?: unknown
}

let models: Promise<ModelInfo[]> | undefined
/** GET /_models, once per page load (it changes only when verso restarts); a failure is tried again next time. */
export async function loadModels (): Promise<ModelInfo[]> {
  models ??= api<{ items: ModelInfo[] }>('/_models').then((answer) => answer.body.items)
  models.catch(() => { models = undefined })
  return await models
}
