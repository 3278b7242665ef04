import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../../config/config.js'
import type { Publisher } from './publisher.js'

/**
 * The publisher OUTBOX_PUBLISHER names; loadConfig has checked that its settings are there. Only that
 * publisher's module is loaded: the SQS client and amqplib cost about 17 and 6 MB of RSS each.
 */
export async function createPublisher (config: Config, log: FastifyBaseLogger): Promise<Publisher> {
  switch (config.OUTBOX_PUBLISHER) {
    case 'rabbitmq': return (await import('./rabbitmq.js')).rabbitmqPublisher({ url: String(config.RABBITMQ_URL), exchange: config.RABBITMQ_EXCHANGE, log })
    case 'sqs': return (await import('./sqs.js')).sqsPublisher({ queueUrl: String(config.SQS_QUEUE_URL) })
    case 'webhook': return (await import('./webhook.js')).webhookPublisher({ url: String(config.WEBHOOK_URL), secret: String(config.WEBHOOK_SECRET) })
    case 'log': return (await import('./log.js')).logPublisher(log)
  }
}
