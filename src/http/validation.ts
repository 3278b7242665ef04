import { Ajv, type ErrorObject, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import { validationFailed, type FieldError, type VersoError } from '../errors.js'

// discriminator: a oneOf tagged with OpenAPI's discriminator reports the errors of the branch its tag names only.
const common: Options = { useDefaults: true, removeAdditional: false, allErrors: true, strict: false, discriminator: true }

function build (options: Options): Ajv {
  const ajv = new Ajv({ ...common, ...options })
  addFormats.default(ajv)
  return ajv
}

/** Bodies are validated as sent: a string is never turned into a number. Unknown fields are errors, never dropped. */
export const bodyAjv = build({ coerceTypes: false })
/** Query strings, params and headers are text: coerce to the declared types ("20" → 20). */
const textAjv = build({ coerceTypes: 'array' })

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object)

const MAX_REPORTED = 25

/** Ajv errors → problem+json `errors[]`, with JSON Pointer paths prefixed by the request part. */
export function fieldErrors (errors: readonly Partial<ErrorObject>[], part: string): FieldError[] {
  const seen = new Set<string>()
  const result: FieldError[] = []
  for (const e of errors) {
    const params = (e.params ?? {}) as { missingProperty?: string, additionalProperty?: string, allowedValues?: unknown[] }
    let path = `/${part}${e.instancePath ?? ''}`
    let message = e.message ?? 'is invalid'
    if (params.missingProperty !== undefined) {
      path += `/${params.missingProperty}`
      message = 'is required'
    } else if (params.additionalProperty !== undefined) {
      path += `/${params.additionalProperty}`
      message = 'is not a known field'
    } else if (params.allowedValues !== undefined) {
      message = `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
    }
    const key = `${path} ${message}`
    if (seen.has(key) || e.keyword === 'anyOf' || e.keyword === 'if') continue
    seen.add(key)
    result.push({ path, message })
    if (result.length === MAX_REPORTED) break
  }
  return result
}

export function validationError (errors: readonly Partial<ErrorObject>[], part: string): VersoError {
  const list = fieldErrors(errors, part)
  const detail = list.length === 1 && list[0] !== undefined ? `${list[0].path} ${list[0].message}.` : `${list.length} fields are invalid.`
  return validationFailed(detail, list)
}
