import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'

/**
 * Security headers on every response. The API answers JSON only, so its Content-Security-Policy allows
 * nothing at all; Swagger UI's pages replace it with their own (DOCS_CSP in swagger.ts). Registered before
 * the other request hooks, so refusals (401, 429, 503) carry the headers too.
 */
export default fp(async (app) => {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] }
    },
    frameguard: { action: 'deny' }
  })
}, { name: 'helmet' })
