import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { createRequire } from 'node:module'

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string }

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
      tags: [{ name: 'health', description: 'Liveness and readiness' }]
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}`
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'swagger' })
