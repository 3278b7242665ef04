// The console's URLs, so a link pasted into a ticket opens the same view: /console, /console/{model} with the
// list's query (the API's own filters, include_deleted and cursor), /console/{model}/{id} with the versions
// compared (a, b) and the point in time (as_of). Pure: no DOM, unit-tested in test/console/.

export const BASE = '/console'

export type Route =
  | { page: 'models' }
  | { page: 'entities', model: string, query: URLSearchParams }
  | { page: 'entity', model: string, id: string, query: URLSearchParams }
  | { page: 'unknown' }

export function parseRoute (pathname: string, search: string): Route {
  if (pathname !== BASE && !pathname.startsWith(`${BASE}/`)) return { page: 'unknown' }
  const parts = pathname.slice(BASE.length).split('/').filter((p) => p !== '').map(decodeURIComponent)
  const query = new URLSearchParams(search)
  if (parts.length === 0) return { page: 'models' }
  if (parts.length === 1) return { page: 'entities', model: parts[0] as string, query }
  if (parts.length === 2) return { page: 'entity', model: parts[0] as string, id: parts[1] as string, query }
  return { page: 'unknown' }
}

const withQuery = (path: string, params: Record<string, string | undefined> | URLSearchParams): string => {
  const query = params instanceof URLSearchParams
    ? params
    : new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''))
  const text = query.toString()
  return text === '' ? path : `${path}?${text}`
}

export const modelsHref = (): string => BASE
export const entitiesHref = (model: string, query: URLSearchParams = new URLSearchParams()): string =>
  withQuery(`${BASE}/${encodeURIComponent(model)}`, query)
export const entityHref = (model: string, id: string, params: { a?: string | undefined, b?: string | undefined, as_of?: string | undefined } = {}): string =>
  withQuery(`${BASE}/${encodeURIComponent(model)}/${encodeURIComponent(id)}`, params)

/** Query parameters of the list that are not filters (docs/queries.md). */
export const LIST_PARAMS = ['limit', 'cursor', 'order', 'fields', 'include_deleted'] as const
export const OPERATORS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'between', 'in', 'begins_with', 'exists'] as const
export type Operator = typeof OPERATORS[number]

export interface Filter {
  field: string
  op: Operator
  value: string
}

/** The filters of a list query, as PostgREST writes them: `field=op.value`, a bare value meaning eq. */
export function parseFilters (query: URLSearchParams): Filter[] {
  const filters: Filter[] = []
  for (const [field, text] of query) {
    if ((LIST_PARAMS as readonly string[]).includes(field)) continue
    const m = /^([a-z_]+)\.(.*)$/s.exec(text)
    const op = m?.[1] === 'neq' ? 'ne' : m?.[1]
    if (m !== null && (OPERATORS as readonly string[]).includes(op ?? '')) filters.push({ field, op: op as Operator, value: m[2] as string })
    else filters.push({ field, op: 'eq', value: text })
  }
  return filters
}

/** A list query from filters and options; always `op.value`, so a value that itself starts like `lt.` stays a value. */
export function listQuery (filters: readonly Filter[], options: { include_deleted?: boolean, cursor?: string | undefined } = {}): URLSearchParams {
  const query = new URLSearchParams()
  for (const f of filters) if (f.field !== '') query.append(f.field, `${f.op}.${f.value}`)
  if (options.include_deleted === true) query.set('include_deleted', 'true')
  if (options.cursor !== undefined) query.set('cursor', options.cursor)
  return query
}

/**
 * A time typed into the point-in-time form, as RFC 3339 for `as_of`: given with an offset (or Z) it is passed
 * on as typed; a date and time without one is read as UTC (`2026-11-26 23:51` → `2026-11-26T23:51:00Z`).
 * Anything else is passed on too, and the API's 400 says what is wrong with it.
 */
export function asOfInstant (typed: string): string {
  const text = typed.trim()
  const m = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?$/.exec(text)
  if (m !== null) return `${m[1] as string}T${m[2] as string}${m[3] ?? ':00'}Z`
  const day = /^\d{4}-\d{2}-\d{2}$/.exec(text)
  return day !== null ? `${text}T00:00:00Z` : text
}
