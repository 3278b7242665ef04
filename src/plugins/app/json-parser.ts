import fp from 'fastify-plugin'
import type { BodyShapeLimits } from '../../http/body-shape.js'
import { JSON_MEDIA_TYPES, parseJsonBody } from '../../http/json-body.js'

/**
 * The JSON body parser for application/json and application/merge-patch+json (parseJsonBody: forbidden keys,
 * bad JSON and a shape beyond the limits are problems). An empty body is no body (a DELETE sent with a JSON
 * content type but nothing in it), and the route decides. text/plain is not parsed at all.
 */
export default fp<{ shape: BodyShapeLimits }>(async (app, { shape }) => {
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
}, { name: 'json-parser' })
