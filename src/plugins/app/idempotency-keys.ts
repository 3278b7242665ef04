import fp from 'fastify-plugin'
import { IdempotencyKeys } from '../../http/idempotency-key.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Idempotency-Key on POST (IETF httpapi draft): records the answer of a write with it, replays it on retry. */
    idempotency: IdempotencyKeys
  }
}

/** Idempotency-Key handling for the POST writes; a key is remembered for `ttlSeconds` (IDEMPOTENCY_TTL). */
export default fp<{ ttlSeconds: number }>(async (app, { ttlSeconds }) => {
  app.decorate('idempotency', new IdempotencyKeys(ttlSeconds))
}, { name: 'idempotency-keys' })
