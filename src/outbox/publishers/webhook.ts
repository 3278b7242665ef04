import { createHmac } from 'node:crypto'
import { OK, publishPerEntity, type OutboxRecord, type Outcome, type Publisher } from './publisher.js'

export interface WebhookOptions {
  url: string
  secret: string
  timeoutMs?: number
  concurrency?: number
}

/**
 * The signature of a delivery, as the Standard Webhooks scheme defines it: base64 HMAC-SHA256 with the
 * secret over `{webhook-id}.{webhook-timestamp}.{body}`, sent as `webhook-signature: v1,<base64>`.
 */
export function signWebhook (secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

/** A 2xx acknowledges; 408, 429, 5xx, timeouts and network errors are retried; any other 4xx is final. */
function outcomeOf (status: number): Outcome {
  if (status >= 200 && status < 300) return OK
  if (status === 408 || status === 429 || status >= 500) return { status: 'retry', reason: `webhook answered ${status}` }
  return { status: 'reject', reason: `webhook answered ${status}` }
}

/** POSTs each CloudEvent (structured mode) to WEBHOOK_URL, signed with WEBHOOK_SECRET. */
export function webhookPublisher (options: WebhookOptions): Publisher {
  const timeoutMs = options.timeoutMs ?? 10_000
  const send = async (record: OutboxRecord): Promise<Outcome> => {
    const timestamp = Math.floor(Date.now() / 1000)
    try {
      const res = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/cloudevents+json',
          'webhook-id': record.eventId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(options.secret, record.eventId, timestamp, record.body),
          ...(record.traceparent === undefined ? {} : { traceparent: record.traceparent })
        },
        body: record.body,
        signal: AbortSignal.timeout(timeoutMs)
      })
      await res.body?.cancel()
      return outcomeOf(res.status)
    } catch (err) {
      return { status: 'retry', reason: `webhook unreachable: ${err instanceof Error ? err.message : String(err)}` }
    }
  }
  return {
    name: 'webhook',
    publish: async (records) => await publishPerEntity(records, options.concurrency ?? 8, send),
    close: async () => {}
  }
}
