import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'

type Json = Record<string, any>

/** What a response is made of, as app.inject and fetch both give it. */
export interface Answer {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch']
const pointer = (part: string): string => part.replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * Checks answers against an OpenAPI 3.1 document, as a validating proxy would: the status is declared for the
 * operation, the body is valid against the schema declared for that status and content type, and every header
 * declared required is present. Remembers which operations and statuses it saw.
 */
export class Contract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false })
  private readonly validators = new Map<string, ValidateFunction>()
  private readonly templates: Array<{ path: string, regex: RegExp, params: number }>
  readonly seen = new Map<string, Set<string>>()

  constructor (readonly doc: Json) {
    addFormats.default(this.ajv)
    this.ajv.addSchema(doc, 'openapi')
    this.templates = Object.keys(doc.paths).map((path) => ({
      path,
      regex: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      params: (path.match(/\{/g) ?? []).length
    })).sort((a, b) => a.params - b.params)
  }

  /** The documented path a URL is an instance of (a literal segment wins over a parameter: /person/count). */
  pathOf (url: string): string | undefined {
    const path = url.split('?')[0] ?? url
    return this.templates.find((t) => t.regex.test(path))?.path
  }

  operations (): string[] {
    return Object.entries<Json>(this.doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m] !== undefined).map((m) => `${m.toUpperCase()} ${path}`))
  }

  /** The violations of one answer; empty when it conforms. */
  check (method: string, url: string, res: Answer): string[] {
    const path = this.pathOf(url)
    const where = `${method} ${url} → ${res.statusCode}`
    const op = path === undefined ? undefined : this.doc.paths[path]?.[method.toLowerCase()] as Json | undefined
    if (path === undefined || op === undefined) return [`${where}: no such operation in the document`]
    const key = `${method} ${path}`
    this.seen.set(key, (this.seen.get(key) ?? new Set()).add(String(res.statusCode)))
    const response = op.responses[String(res.statusCode)] as Json | undefined
    if (response === undefined) return [`${where}: status not declared (declared: ${Object.keys(op.responses).join(', ')})`]
    const violations: string[] = []
    for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
      if (header.required === true && res.headers[name] === undefined) violations.push(`${where}: required header ${name} missing`)
    }
    const type = String(res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? ''
    if (response.content === undefined) {
      if (res.body !== '') violations.push(`${where}: a body where none is declared`)
      return violations
    }
    if (response.content[type] === undefined) return [...violations, `${where}: content type ${type || '(none)'} not declared (declared: ${Object.keys(response.content).join(', ')})`]
    const ref = `openapi#/paths/${pointer(path)}/${method.toLowerCase()}/responses/${res.statusCode}/content/${pointer(type)}/schema`
    let validate = this.validators.get(ref)
    if (validate === undefined) {
      validate = this.ajv.compile({ $ref: ref })
      this.validators.set(ref, validate)
    }
    let body: unknown = res.body
    if (type === 'application/json' || type.endsWith('+json')) {
      try {
        body = JSON.parse(res.body)
      } catch {
        return [...violations, `${where}: the body is not JSON`]
      }
    }
    if (!validate(body)) violations.push(`${where}: body invalid: ${this.ajv.errorsText(validate.errors, { separator: '; ' })}`)
    return violations
  }
}
