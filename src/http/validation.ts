import type { ErrorObject } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'
import { validationFailed, type VersoError } from '../errors.js'
import { bodyAjv, buildAjv, fieldErrors } from '../models/validator.js'

/** Query strings, params and headers are text: coerce to the declared types ("20" → 20). */
const textAjv = buildAjv({ coerceTypes: 'array' })

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object)

export function validationError (errors: readonly Partial<ErrorObject>[], part: string): VersoError {
  const list = fieldErrors(errors, part)
  const detail = list.length === 1 && list[0] !== undefined ? `${list[0].path} ${list[0].message}.` : `${list.length} fields are invalid.`
  return validationFailed(detail, list)
}
