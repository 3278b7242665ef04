import { serverManagedField, type VersoError } from '../errors.js'
import { SERVER_MANAGED_FIELDS } from '../models/define.js'

/** A create may name the entity_id it wants; every other server-managed field is refused. */
export const REFUSED_ON_CREATE: readonly string[] = SERVER_MANAGED_FIELDS.filter((f) => f !== 'entity_id')

/** A PUT or PATCH of a versioned model may carry `version`, its precondition (instead of If-Match). */
export const refusedOnWrite = (versioned: boolean): readonly string[] =>
  SERVER_MANAGED_FIELDS.filter((f) => !(versioned && f === 'version'))

/**
 * The refused server-managed fields a body names. They are refused by name, also for models that allow extra
 * fields: verso writes them. A transaction's operation bodies refuse all of them (its id and version are beside the body).
 */
export function serverManagedIn (body: unknown, refused: readonly string[] = SERVER_MANAGED_FIELDS): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return []
  return refused.filter((f) => Object.hasOwn(body, f))
}

/** The 400 that refuses a body naming server-managed fields, or undefined when it names none. */
export function serverManagedProblem (body: unknown, refused: readonly string[]): VersoError | undefined {
  const present = serverManagedIn(body, refused)
  return present.length > 0 ? serverManagedField(present) : undefined
}
