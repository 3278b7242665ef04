import { Parser, type AsyncAPIDocumentInterface, type ChannelInterface } from '@asyncapi/parser'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'

// DiagnosticSeverity of @stoplight/types: Error 0, Warning 1, Information 2, Hint 3.
const ERROR = 0

export interface Parsed { document: AsyncAPIDocumentInterface, errors: string[], notes: string[] }

/** The document as a consumer's tooling reads it: @asyncapi/parser, every diagnostic as `code path: message`. */
export async function parseAsyncApi (doc: unknown): Promise<Parsed> {
  const { document, diagnostics } = await new Parser().parse(typeof doc === 'string' ? doc : JSON.stringify(doc))
  const say = (d: typeof diagnostics[number]): string => `${String(d.code)} ${d.path.join('.')}: ${d.message}`
  const errors = diagnostics.filter((d) => d.severity === ERROR).map(say)
  if (document === undefined) throw new Error(`the parser gave no document: ${errors.join('; ')}`)
  return { document, errors, notes: diagnostics.filter((d) => d.severity !== ERROR).map(say) }
}

// The schemas are JSON Schema draft 7 (Ajv's default draft); the parser marks each with x-parser-schema-id.
const ajv = new Ajv({ allErrors: true, strict: true })
addFormats.default(ajv)
ajv.addKeyword('x-parser-schema-id')
const compiled = new Map<unknown, ValidateFunction>()
const compile = (schema: unknown): ValidateFunction => {
  let fn = compiled.get(schema)
  if (fn === undefined) compiled.set(schema, fn = ajv.compile(schema as object))
  return fn
}

/** The channels of one server (rabbitmq, sqs, webhook). */
export const channelsOf = (document: AsyncAPIDocumentInterface, server: string): ChannelInterface[] =>
  document.channels().all().filter((c) => c.servers().all().some((s) => s.id() === server))

/**
 * What is wrong with one delivery against `channel`: its message named `type` must exist, and its headers and
 * body must match that message's schemas. Empty when the delivery conforms.
 */
export function violations (channel: ChannelInterface, type: string, headers: Record<string, unknown>, body: unknown): string[] {
  const message = channel.messages().all().find((m) => m.name() === type)
  if (message === undefined) return [`channel ${channel.id()} has no message ${type}`]
  const found: string[] = []
  for (const [part, schema, value] of [['headers', message.headers()?.json(), headers], ['payload', message.payload()?.json(), body]] as const) {
    if (schema === undefined) {
      found.push(`${type}: no ${part} schema`)
      continue
    }
    const validate = compile(schema)
    if (!validate(value)) found.push(...(validate.errors ?? []).map((e) => `${type} ${part}${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`))
  }
  return found
}
