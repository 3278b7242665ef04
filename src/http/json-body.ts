import type { FastifyInstance } from 'fastify'
import sjson from 'secure-json-parse'
import { badRequest, malformedJson } from '../errors.js'
import { checkBodyShape, type BodyShapeLimits } from './body-shape.js'

/** Media types parsed as JSON; PATCH takes both (merge-patch first), other writes application/json. */
export const JSON_MEDIA_TYPES = ['application/merge-patch+json', 'application/json']

/**
 * The JSON body parser for application/json and application/merge-patch+json. secure-json-parse refuses
 * `__proto__` and `constructor.prototype` keys (prototype pollution) with a problem that says so; an empty
 * body is no body (a DELETE sent with a JSON content type but nothing in it), and the route decides.
 * A body nested deeper or holding more fields than `shape` allows is refused here, before anything walks it.
 */
export function registerJsonParser (app: FastifyInstance, shape: BodyShapeLimits): void {
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser(JSON_MEDIA_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body)
    if (text.trim() === '') {
      done(null, undefined)
      return
    }
    let parsed: unknown
    try {
      parsed = parseJsonBody(text, shape)
    } catch (err) {
      done(err as Error, undefined)
      return
    }
    done(null, parsed)
  })
}

/** JSON text → value, refusing forbidden keys, bad JSON and a shape beyond the limits with their problems. */
export function parseJsonBody (text: string, shape: BodyShapeLimits): unknown {
  let parsed: unknown
  try {
    parsed = sjson.parse(text, { protoAction: 'error', constructorAction: 'error' })
  } catch (err) {
    // secure-json-parse throws a SyntaxError for both; only its message tells a forbidden key from bad JSON.
    const forbidden = err instanceof Error && /prototype/i.test(err.message)
    throw forbidden ? badRequest('The JSON body holds a forbidden key (__proto__ or constructor.prototype).') : malformedJson()
  }
  checkBodyShape(parsed, shape)
  return parsed
}
