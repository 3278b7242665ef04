import { randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { json } from '../support/helper.js'

/** Shared expectations of the HTTP contract tests (docs/api.md). */
export const ID = /^[0-9a-f]{32}$/
export const ZERO_ID = '00000000000040008000000000000000'
/** Python's isoformat() of an aware UTC datetime: six fraction digits (none when zero) and +00:00. */
export const PY_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/
export const SERVER_FIELDS = ['entity_id', 'version', 'previous_version', 'active', 'changed_by_id', 'changed_on']
export const PROBLEM_TYPE = /^application\/problem\+json/

export const newId = (): string => randomBytes(16).toString('hex')

/** A leaked stack trace or internal error text looks like this. */
const STACK = /\n\s+at |\bat .+\.(ts|js):\d+|Error:|node_modules/

export interface ProblemExpectation {
  code?: string
  /** Paths that must appear in errors[] (e.g. /body/age). */
  paths?: string[]
  instance?: string
}

/**
 * Asserts an RFC 9457 problem answer: status, content type, the members every verso problem has, no stack
 * trace, and the request id header. Returns the parsed body for further checks.
 */
export function assertProblem (t: Test, res: LightMyRequestResponse, status: number, expect: ProblemExpectation = {}): Record<string, any> {
  t.equal(res.statusCode, status, `status ${status}`)
  t.match(res.headers['content-type'], PROBLEM_TYPE, 'content-type is application/problem+json')
  t.ok(res.headers['x-request-id'], 'x-request-id header on the error')
  t.notMatch(res.body, STACK, 'no stack trace or internal error text in the body')
  let body: Record<string, any> = {}
  try {
    body = json(res)
  } catch {
    t.fail(`body is not JSON: ${res.body.slice(0, 200)}`)
    return body
  }
  t.type(body.type, 'string', 'type')
  t.type(body.title, 'string', 'title')
  t.equal(body.status, status, 'status member equals the HTTP status')
  t.type(body.detail, 'string', 'detail')
  t.type(body.instance, 'string', 'instance')
  t.type(body.code, 'string', 'code')
  t.match(body.code, /^VERSO_[A-Z_]+$/, 'code has the VERSO_ prefix')
  if (expect.code !== undefined) t.equal(body.code, expect.code, `code ${expect.code}`)
  if (expect.instance !== undefined) t.equal(body.instance, expect.instance, 'instance is the request path')
  if (expect.paths !== undefined) {
    t.ok(Array.isArray(body.errors), 'errors[] present')
    const errors = (Array.isArray(body.errors) ? body.errors : []) as Array<{ path: unknown, message: unknown }>
    for (const e of errors) {
      t.type(e.path, 'string', 'errors[].path')
      t.type(e.message, 'string', 'errors[].message')
    }
    const paths = errors.map((e) => e.path)
    for (const p of expect.paths) t.ok(paths.includes(p), `errors[] names ${p} (got ${JSON.stringify(paths)})`)
  }
  return body
}

/** Asserts the six server-managed fields of a versioned entity. */
export function assertServerFields (t: Test, body: Record<string, any>): void {
  t.match(body.entity_id, ID, 'entity_id is 32 lowercase hex')
  t.match(body.version, ID, 'version is 32 lowercase hex')
  t.match(body.previous_version, ID, 'previous_version is 32 lowercase hex')
  t.type(body.active, 'boolean', 'active is a boolean')
  t.equal(body.changed_by_id, ZERO_ID, 'anonymous writer is the zero id')
  t.match(body.changed_on, PY_ISO, 'changed_on as Python isoformat()')
}

export interface Person {
  entity_id: string
  version: string
  [key: string]: unknown
}

export async function createPerson (app: FastifyInstance, fields: Record<string, unknown> = {}): Promise<Person> {
  const res = await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace', ...fields } })
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`)
  return json(res)
}
