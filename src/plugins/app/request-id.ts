import fp from 'fastify-plugin'

/** Every answer names its request (the id genReqId gave it, src/http/server-options.ts) in x-request-id. */
export default fp(async (app) => {
  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id) })
}, { name: 'request-id' })
