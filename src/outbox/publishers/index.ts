import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config/config.js'
import { logPublisher } from './log.js'
import type { Publisher } from './publisher.js'
import { rabbitmqPublisher } from './rabbitmq.js'
import { sqsPublisher } from './sqs.js'
import { webhookPublisher } from './webhook.js'

/** The publisher OUTBOX_PUBLISHER names; loadConfig has checked that its settings are there. */
export function createPublisher (config: Config, log: FastifyBaseLogger): Publisher {
  switch (config.OUTBOX_PUBLISHER) {
    case 'rabbitmq': return rabbitmqPublisher({ url: String(config.RABBITMQ_URL), exchange: config.RABBITMQ_EXCHANGE, log })
    case 'sqs': return sqsPublisher({ queueUrl: String(config.SQS_QUEUE_URL) })
    case 'webhook': return webhookPublisher({ url: String(config.WEBHOOK_URL), secret: String(config.WEBHOOK_SECRET) })
    case 'log': return logPublisher(log)
  }
}
