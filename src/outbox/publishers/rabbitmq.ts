import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib'
import type { FastifyBaseLogger } from 'fastify'
import { OK, publishPerEntity, routingKeyOf, type OutboxRecord, type Outcome, type Publisher } from './publisher.js'

const ENTITIES_IN_FLIGHT = 64

export interface RabbitOptions {
  url: string
  exchange: string
  log: FastifyBaseLogger
  /** How long to wait for the broker's confirms of one batch. */
  confirmTimeoutMs?: number
}

/**
 * AMQP 0-9-1 to a durable topic exchange, routing key `{model}.{action}`, persistent messages, publisher
 * confirms: an event counts as published only when the broker confirmed it. The connection is opened on
 * first use and again after any failure, so a broker restart heals by itself (the relay backs off between tries).
 */
export function rabbitmqPublisher (options: RabbitOptions): Publisher {
  const { url, exchange, log } = options
  const confirmTimeoutMs = options.confirmTimeoutMs ?? 10_000
  let connecting: Promise<{ model: ChannelModel, channel: ConfirmChannel }> | undefined

  const reset = (): void => { connecting = undefined }
  const open = async (): Promise<{ model: ChannelModel, channel: ConfirmChannel }> => {
    const model = await connect(url, { timeout: 5000 })
    // Events of an old connection must not reset a newer one: each handler resets only its own.
    const mine = (): boolean => connecting === current
    try {
      model.on('error', (err: Error) => { log.warn({ err }, 'RabbitMQ connection error') })
      model.on('close', () => { if (mine()) reset() })
      const channel = await model.createConfirmChannel()
      channel.on('error', (err: Error) => { log.warn({ err }, 'RabbitMQ channel error') })
      // A closed channel leaves the connection open: close it too, so that nothing leaks.
      channel.on('close', () => {
        if (mine()) reset()
        model.close().catch(() => {})
      })
      await channel.assertExchange(exchange, 'topic', { durable: true })
      log.info({ exchange }, 'connected to RabbitMQ')
      return { model, channel }
    } catch (err) {
      await model.close().catch(() => {})
      throw err
    }
  }
  let current: Promise<{ model: ChannelModel, channel: ConfirmChannel }> | undefined
  const ready = async (): Promise<ConfirmChannel> => {
    connecting ??= current = open()
    try {
      return (await connecting).channel
    } catch (err) {
      reset()
      throw err
    }
  }

  const sendOne = async (channel: ConfirmChannel, record: OutboxRecord): Promise<Outcome> => await new Promise((resolve) => {
    const timer = setTimeout(() => { resolve({ status: 'retry', reason: 'no confirm from RabbitMQ in time' }) }, confirmTimeoutMs)
    try {
      channel.publish(exchange, routingKeyOf(record.type), Buffer.from(record.body), {
        persistent: true,
        contentType: 'application/cloudevents+json',
        messageId: record.eventId,
        type: record.type,
        timestamp: Math.floor(Date.now() / 1000),
        headers: { 'ce-id': record.eventId, 'ce-subject': record.entityId, ...(record.traceparent === undefined ? {} : { traceparent: record.traceparent }) }
      }, (err: unknown) => {
        clearTimeout(timer)
        resolve(err === null || err === undefined ? OK : { status: 'retry', reason: 'RabbitMQ did not confirm (nack or channel closed)' })
      })
    } catch (err) {
      clearTimeout(timer)
      resolve({ status: 'retry', reason: err instanceof Error ? err.message : String(err) })
    }
  })

  return {
    name: 'rabbitmq',
    // One entity's events go out one at a time, each after the broker confirmed the one before, so a nack or a
    // lost confirm can never let a later event of the entity arrive first. Entities go in parallel.
    publish: async (records) => {
      let channel: ConfirmChannel
      try {
        channel = await ready()
      } catch (err) {
        const reason = `RabbitMQ unreachable: ${err instanceof Error ? err.message : String(err)}`
        return records.map((): Outcome => ({ status: 'retry', reason }))
      }
      return await publishPerEntity(records, ENTITIES_IN_FLIGHT, async (record) => await sendOne(channel, record))
    },
    close: async () => {
      const pending = connecting
      reset()
      if (pending === undefined) return
      try {
        const { model } = await pending
        await model.close()
      } catch {
        // already closed or never opened
      }
    }
  }
}
