import sjson from 'secure-json-parse'
import { badRequest, malformedJson } from '../errors.js'
import { checkBodyShape, type BodyShapeLimits } from './body-shape.js'

/** Media types parsed as JSON; PATCH takes both (merge-patch first), other writes application/json. */
export const JSON_MEDIA_TYPES = ['application/merge-patch+json', 'application/json']

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
