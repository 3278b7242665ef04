/**
 * RabbitMQ for the chaos scenarios and the tests: is the broker there, a consumer that collects what arrives,
 * and a TCP proxy in front of the broker that can be cut and restored (a broker outage at the network level,
 * without stopping the broker other tests share). test/support/rabbit.ts re-exports this file.
 */
import { connect, type ChannelModel } from 'amqplib'
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672'

/**
 * `false` when RabbitMQ answers; otherwise the reason to skip (pass it as tap's `skip` option). When
 * REQUIRE_RABBITMQ=1 (CI sets it) a missing broker throws instead, so it can never pass as skipped tests.
 */
export async function rabbitSkip (): Promise<string | false> {
  try {
    const model = await connect(RABBITMQ_URL, { timeout: 3000 })
    await model.close()
    return false
  } catch (err) {
    const message = `RabbitMQ is not reachable at ${RABBITMQ_URL.replace(/\/\/[^@]*@/, '//')} (${err instanceof Error ? err.message : String(err)}); start it with \`rabbitmq-server -detached\``
    if (process.env.REQUIRE_RABBITMQ === '1') throw new Error(`${message}. REQUIRE_RABBITMQ=1, so this is a failure`)
    return `${message}: skipped`
  }
}

export interface Received {
  id: string
  routingKey: string
  contentType: string | undefined
  persistent: boolean
  event: Record<string, any>
}

export interface Consumer {
  received: Received[]
  /** Resolves when `predicate` holds for what was received, or rejects after `ms`. */
  until: (predicate: (received: Received[]) => boolean, ms?: number) => Promise<void>
  close: () => Promise<void>
}

/** A queue bound to every routing key of `exchange`, collecting what arrives. */
export async function consume (exchange: string): Promise<Consumer> {
  const model: ChannelModel = await connect(RABBITMQ_URL)
  const channel = await model.createChannel()
  await channel.assertExchange(exchange, 'topic', { durable: true })
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true })
  await channel.bindQueue(queue, exchange, '#')
  const received: Received[] = []
  await channel.consume(queue, (msg) => {
    if (msg === null) return
    received.push({
      id: String(msg.properties.messageId),
      routingKey: msg.fields.routingKey,
      contentType: msg.properties.contentType,
      persistent: msg.properties.deliveryMode === 2,
      event: JSON.parse(msg.content.toString())
    })
  }, { noAck: true })
  return {
    received,
    until: async (predicate, ms = 60_000) => {
      const deadline = Date.now() + ms
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`timed out with ${received.length} messages received`)
        await sleep(50)
      }
    },
    close: async () => {
      await channel.deleteExchange(exchange).catch(() => {})
      await model.close().catch(() => {})
    }
  }
}

/** A TCP proxy in front of RabbitMQ that a test can cut (every connection dropped, new ones refused) and restore. */
export interface Proxy { url: string, cut: () => Promise<void>, restore: () => Promise<void>, close: () => Promise<void> }

export async function rabbitProxy (): Promise<Proxy> {
  const target = new URL(RABBITMQ_URL)
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = tcpConnect(Number(target.port || 5672), target.hostname)
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve))
    port = (server.address() as { port: number }).port
  }
  const stop = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => { if (server === undefined) resolve(); else server.close(() => resolve()) })
    server = undefined
  }
  await listen()
  return {
    url: `${target.protocol}//${target.username}:${target.password}@127.0.0.1:${port}${target.pathname}`,
    cut: stop,
    restore: listen,
    close: stop
  }
}
