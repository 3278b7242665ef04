import type { FastifyBaseLogger } from 'fastify'
import { OK, type Outcome, type Publisher } from './publisher.js'

/** Writes each event as one pino line: the default of the embedded mode, where no broker is configured. */
export function logPublisher (log: FastifyBaseLogger): Publisher {
  return {
    name: 'log',
    publish: async (records) => records.map((record): Outcome => {
      log.info({ event: JSON.parse(record.body) as unknown }, 'change event')
      return OK
    }),
    close: async () => {}
  }
}
