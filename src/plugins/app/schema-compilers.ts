import fp from 'fastify-plugin'
import { validatorCompiler } from '../../http/validation.js'

/**
 * Requests are validated by verso's ajv (src/http/validation.ts). Responses are what is stored, as it is stored:
 * items written by others (Rococo) may lack a field, hold text where JSON was expected or carry attributes the
 * model does not declare. A schema-driven serializer would fail on those or quietly reshape them (defaults added,
 * text turned into objects), so the response schemas document the API and JSON.stringify writes it.
 */
export default fp(async (app) => {
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))
}, { name: 'schema-compilers' })
