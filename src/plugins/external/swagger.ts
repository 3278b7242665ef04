import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { createRequire } from 'node:module'
import { SECURITY, SECURITY_SCHEMES } from '../../auth/openapi.js'

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string }

/**
 * The one inline style Swagger UI has: the <style> in its top-bar logo SVG (swagger-ui-dist 5.34). The
 * browser test (test/browser/swagger-ui.test.ts) fails on any CSP violation, so an upgrade that changes it shows.
 */
const SWAGGER_LOGO_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"
const DOCS_CSP = [
  "default-src 'self'", "base-uri 'self'", "connect-src 'self'", "font-src 'self' data:", "form-action 'self'",
  "frame-ancestors 'self'", "img-src 'self' data:", "object-src 'none'", "script-src 'self'", "script-src-attr 'none'",
  `style-src 'self' ${SWAGGER_LOGO_STYLE}`
].join('; ')

/** OpenAPI document from the route schemas, served at /openapi.json, and Swagger UI at /docs. */
export default fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'verso',
        version,
        description: 'Versioned, audited entities on DynamoDB. Every write makes a new version, copies the replaced one to the audit table and records a change event, in one transaction. Errors are RFC 9457 problem+json.'
      },
      tags: [{ name: 'health', description: 'Liveness and readiness' }],
      components: { securitySchemes: SECURITY_SCHEMES },
      security: SECURITY
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}`
    }
  })
  // Swagger UI's pages get a policy of their own (the API's allows nothing): same-origin scripts, styles,
  // images and calls ("Try it out"), no inline script. No upgrade-insecure-requests: verso is often served
  // over plain HTTP inside a network, where that directive would break every asset.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'swagger' })
