import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { TSchema } from 'typebox'
import type { FieldError } from '../errors.js'

// discriminator: a oneOf tagged with OpenAPI's discriminator reports the errors of the branch its tag names only.
const common: Options = { useDefaults: true, removeAdditional: false, allErrors: true, strict: false, discriminator: true }

/** An Ajv with verso's settings and the formats of ajv-formats. */
export function buildAjv (options: Options): Ajv {
  const ajv = new Ajv({ ...common, ...options })
  addFormats.default(ajv)
  return ajv
}

/** Bodies are validated as sent: a string is never turned into a number. Unknown fields are errors, never dropped. */
export const bodyAjv = buildAjv({ coerceTypes: false })

const compiled = new WeakMap<object, ValidateFunction>()

/** The one way a model's schemas become validators: with bodyAjv, compiled once per schema object. */
export function validatorFor<T = unknown> (schema: TSchema): ValidateFunction<T> {
  let validate = compiled.get(schema)
  if (validate === undefined) {
    validate = bodyAjv.compile(schema)
    compiled.set(schema, validate)
  }
  return validate as ValidateFunction<T>
}

const withoutDefaults = new WeakMap<object, TSchema>()

/** A field's values alone, its default left out (a filter value is checked against it: range, length, pattern, enum). */
export function fieldValueValidator (schema: TSchema): ValidateFunction {
  let bare = withoutDefaults.get(schema)
  if (bare === undefined) {
    const { default: _default, ...rest } = schema as Record<string, unknown>
    bare = rest as TSchema
    withoutDefaults.set(schema, bare)
  }
  return validatorFor(bare)
}

const MAX_REPORTED = 25

/** Ajv errors → problem+json `errors[]`, with JSON Pointer paths prefixed by the part checked (body, example…). */
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
