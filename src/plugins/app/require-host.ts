import fp from 'fastify-plugin'
import { missingHost } from '../../errors.js'

/**
 * HTTP/1.1 requires Host (RFC 9112 §3.2). Node's own check answers a bare 400, so the server options turn it off
 * (requireHostHeader: false, src/http/server-options.ts) and this hook refuses the request with a problem instead.
 */
export default fp(async (app) => {
  app.addHook('onRequest', async (request) => {
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') throw missingHost()
  })
}, { name: 'require-host' })
