import { badRequest } from '../errors.js'
import { parseTimestampMicros } from '../models/entity.js'

/** An RFC 3339 time from the query string, in microseconds since the epoch; anything else is a 400. */
export function instant (text: string, name = 'as_of'): number {
  const micros = parseTimestampMicros(text)
  if (micros === undefined) throw badRequest(`${name} must be an RFC 3339 time such as 2026-11-26T23:51:48.540000+00:00.`)
  return micros
}
