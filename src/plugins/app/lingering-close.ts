import fp from 'fastify-plugin'
import { lingerOnClose } from '../../http/lingering-close.js'

/**
 * Lingering close for every connection (src/http/lingering-close.ts): an answer sent before the body was read
 * (413, a GET with a body) is not lost to a reset. Registered first of the request hooks: a request Node parsed
 * behind a refused one on the same connection finds its socket ended and is dropped before anything else runs.
 */
export default fp(async (app) => {
  app.server.on('connection', lingerOnClose)
  app.addHook('onRequest', async (request, reply) => {
    const socket = request.raw.socket
    if (!socket.writableEnded) return
    socket.destroy()
    reply.hijack()
  })
}, { name: 'lingering-close' })
