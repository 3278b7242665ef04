import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Type, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { ConfigError } from '../config/config.js'
import { defineModel, type Model } from './define.js'
import { checkObjectDeclaration, FIELD_TYPES, fieldTypeNamed, pointerSegment, schemaType, UNTYPED_DECLARATION, type Fail } from './field-types/index.js'
import { models as builtInModels } from './index.js'
import { ModelFile, type ModelFileShape } from './model-file.js'
import { fieldErrors, validatorFor } from './validator.js'

/** A model file verso cannot serve: names the file and a JSON Pointer into it. Stops the start like a bad setting. */
export class ModelFileError extends ConfigError {
  constructor (readonly file: string, readonly pointer: string, reason: string) {
    super('MODELS_DIR', `${file}${pointer === '' ? '' : `#${pointer}`}: ${reason}`)
    this.name = 'ModelFileError'
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The members a TypeBox object schema allows at a path of the value it checks (for "allowed: …" in errors). */
function membersAt (schema: TSchema, path: string): string[] {
  let node = schema as { properties?: Record<string, TSchema>, items?: TSchema }
  for (const segment of path.split('/').slice(1)) {
    const next = /^\d+$/.test(segment) ? node.items : node.properties?.[segment]
    if (next === undefined) return []
    node = next as typeof node
  }
  return Object.keys(node.properties ?? {})
}

/** The first way `value` breaks `schema`, as a pointer under `at` and a reason. */
function check (schema: TSchema, value: unknown, at: string, fail: Fail, where = 'here'): void {
  const error = [...Value.Errors(schema, value)][0]
  if (error === undefined) return
  const params = error.params as { additionalProperties?: string[], requiredProperties?: string[] }
  // An unknown member shows as `additionalProperties` on the object, or as a `false` schema on the member.
  const unknown = error.keyword === 'additionalProperties'
    ? { parent: error.instancePath, key: params.additionalProperties?.[0] ?? '' }
    : error.keyword === 'boolean' ? { parent: error.instancePath.replace(/\/[^/]*$/, ''), key: error.instancePath.split('/').pop() ?? '' } : undefined
  if (unknown !== undefined) {
    const key = unknown.key.replaceAll('~1', '/').replaceAll('~0', '~')
    fail(`${at}${unknown.parent}/${pointerSegment(key)}`, `"${key}" is not supported ${where} (supported: ${membersAt(schema, unknown.parent).join(', ')})`)
  }
  const missing = error.keyword === 'required' ? params.requiredProperties?.[0] : undefined
  if (missing !== undefined) fail(`${at}${error.instancePath}/${pointerSegment(missing)}`, 'is required')
  fail(`${at}${error.instancePath}`, error.message)
}

const TYPE_NAMES = FIELD_TYPES.map((t) => t.name).join(', ')

/** One field's JSON Schema against the subset its field type supports (src/models/field-types/). */
function checkField (schema: unknown, at: string, fail: Fail): void {
  if (!isObject(schema)) fail(at, 'must be a JSON Schema object')
  const type = schema.type
  if (type === undefined) {
    if (schema.enum === undefined && schema.const === undefined) fail(at, `needs a type (${TYPE_NAMES}) or an enum`)
    check(UNTYPED_DECLARATION, schema, at, fail, 'for a field without a type')
    if (schemaType(schema as TSchema) === undefined) fail(`${at}/${schema.enum === undefined ? 'const' : 'enum'}`, 'values must be all strings, all numbers or all booleans')
    return
  }
  const fieldType = typeof type === 'string' ? fieldTypeNamed(type) : undefined
  if (fieldType === undefined) {
    fail(`${at}/type`, `must be one of ${TYPE_NAMES} (one type: null and type lists are not supported; leave an optional field out of required instead)`)
  }
  check(fieldType.declaration, schema, at, fail, `for a ${fieldType.name} field`)
  fieldType.checkDeclaration?.(schema, at, fail, (nested, pointer) => { checkField(nested, pointer, fail) })
}

/** Where in the file a message of defineModel points. */
function definePointer (message: string, spec: ModelFileShape): string {
  if (message.startsWith('model name ')) return '/name'
  const index = /index (?:name )?"?([^" ]+)"?/.exec(message)?.[1]
  if (index !== undefined) {
    const i = spec.indexes?.findIndex((x) => x.name === index) ?? -1
    if (i < 0) return '/indexes'
    const named = /names "([^"]*)"/.exec(message)?.[1]
    return `/indexes/${i}/${named === undefined ? 'name' : spec.indexes?.[i]?.hash === named ? 'hash' : 'range'}`
  }
  const field = /field (?:name )?"([^"]*)"/.exec(message)?.[1]
  if (field !== undefined) return `/schema/properties/${pointerSegment(field)}`
  return /: path /.test(message) ? '/path' : ''
}

/** A model from the text of a model file, or a ModelFileError naming the file and where in it. */
export function parseModelFile (file: string, text: string): Model {
  const fail: Fail = (pointer, reason) => { throw new ModelFileError(file, pointer, reason) }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    fail('', `is not valid JSON (${(err as Error).message})`)
  }
  check(ModelFile, doc, '', fail, 'in a model file')
  const spec = doc as ModelFileShape
  if (spec.allowExtra !== undefined && spec.allow_extra !== undefined && spec.allowExtra !== spec.allow_extra) {
    fail('/allow_extra', 'contradicts allowExtra: give one of the two')
  }
  const allowExtra = spec.allowExtra ?? spec.allow_extra ?? false
  const { properties, required = [], additionalProperties } = spec.schema
  if (additionalProperties !== undefined && additionalProperties !== allowExtra) {
    fail('/schema/additionalProperties', `must be ${String(allowExtra)} or left out: it follows allow_extra`)
  }
  checkObjectDeclaration(spec.schema, '/schema', fail, (nested, pointer) => { checkField(nested, pointer, fail) })
  spec.indexes?.forEach((index, i) => {
    if (spec.indexes?.findIndex((x) => x.name === index.name) !== i) fail(`/indexes/${i}/name`, `index "${index.name}" is declared twice`)
  })
  // TypeBox 1.x schemas are plain JSON Schema: Optional marks what `required` leaves out.
  const schema = Type.Object(Object.fromEntries(Object.entries(properties).map(([name, field]) => {
    const unsafe = Type.Unsafe(field as object)
    return [name, required.includes(name) ? unsafe : Type.Optional(unsafe)]
  })), { additionalProperties: allowExtra })
  let model: Model
  try {
    model = defineModel({
      name: spec.name,
      schema,
      versioned: spec.versioned ?? true,
      allowExtra,
      ...(spec.path === undefined ? {} : { path: spec.path }),
      ...(spec.description === undefined ? {} : { description: spec.description }),
      indexes: spec.indexes ?? [],
      example: spec.example
    })
  } catch (err) {
    const message = (err as Error).message
    fail(definePointer(message, spec), message.replace(/^model [A-Za-z0-9]+: /, ''))
  }
  // The example is the OpenAPI example of every body: it must be a valid one (checked on a copy, as Ajv fills in defaults).
  const validate = validatorFor(schema)
  if (!validate(structuredClone(spec.example))) {
    const [first] = fieldErrors(validate.errors ?? [], 'example')
    fail(first?.path ?? '/example', first?.message ?? 'is not valid')
  }
  return model
}

/**
 * The built-in models and those of MODELS_DIR (`*.json`, in name order). A file that cannot be served, or
 * whose model would share a name, table or path with another, throws a ModelFileError.
 */
export function loadModels (dir: string | undefined, builtIns: readonly Model[] = builtInModels): readonly Model[] {
  if (dir === undefined) return builtIns
  let files: string[]
  try {
    files = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.json')).map((e) => e.name).sort()
  } catch (err) {
    throw new ConfigError('MODELS_DIR', `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${dir}`)
  }
  const origin = new Map<Model, string>(builtIns.map((m) => [m, `the built-in model ${m.name}`]))
  const all = [...builtIns]
  for (const name of files) {
    const file = join(dir, name)
    const model = parseModelFile(file, readFileSync(file, 'utf8'))
    for (const other of all) {
      if (other.tableName === model.tableName) throw new ModelFileError(file, '/name', `"${model.name}" maps to table ${model.tableName}, as ${String(origin.get(other))} does`)
      if (other.path === model.path) throw new ModelFileError(file, model.path === model.tableName ? '/name' : '/path', `path /${model.path} is taken by ${String(origin.get(other))}`)
    }
    origin.set(model, file)
    all.push(model)
  }
  return all
}
