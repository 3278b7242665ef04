import type { ErrorObject, ValidateFunction } from 'ajv'
import { storedStateInvalid, type StoredFieldError } from '../errors.js'
import { fieldErrors } from '../models/validator.js'
import { validationError } from './validation.js'

/**
 * Checks the entity a merge patch leaves. A mistake of the patch itself is the usual 400 naming `/{part}/…`.
 * A value the patch did not touch was invalid before it (another writer stored it, or the model changed): that
 * is a 409 naming the stored field and its value, since no change to the request's other fields can fix it.
 */
export function validateMerged (validate: ValidateFunction, merged: Record<string, unknown>, patch: unknown, part: string, subject: string): void {
  if (validate(merged)) return
  const sent: ErrorObject[] = []
  const stored: StoredFieldError[] = []
  for (const error of validate.errors ?? []) {
    const [field] = fieldErrors([error], 'x')
    if (field === undefined) continue
    const pointer = field.path.slice('/x'.length)
    if (reaches(patch, pointer)) sent.push(error)
    // One message per stored field: the branches of a nullable field's anyOf each add one.
    else if (!stored.some((s) => s.path === pointer)) stored.push({ path: pointer, message: field.message, ...valueAt(merged, pointer) })
  }
  if (sent.length > 0 || stored.length === 0) throw validationError(sent.length > 0 ? sent : validate.errors ?? [], part)
  throw storedStateInvalid(subject, stored)
}

const tokens = (pointer: string): string[] => pointer.split('/').slice(1).map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Whether the patch wrote the value at `pointer`: it names every member on the way, or replaced a whole value above it. */
function reaches (patch: unknown, pointer: string): boolean {
  let node = patch
  for (const token of tokens(pointer)) {
    if (!isObject(node)) return true
    if (!Object.hasOwn(node, token)) return false
    node = node[token]
  }
  return true
}

/** The value at `pointer` as stored (the patch left it as it was); nothing when it is missing. */
function valueAt (entity: unknown, pointer: string): { value?: unknown } {
  let node = entity
  for (const token of tokens(pointer)) {
    if (Array.isArray(node) && /^\d+$/.test(token)) node = node[Number(token)]
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token]
    else return {}
  }
  return { value: node }
}
