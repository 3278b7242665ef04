import { createRequire } from 'node:module'
import { Type, type TObject, type TProperties, type TSchema } from 'typebox'
import { ConfigSchema } from '../config/config.js'
import type { Model } from '../models/define.js'
import { ID_PATTERN, ZERO_ID } from '../models/entity.js'
import { EXAMPLE_META, MetaFields } from '../http/model-schemas.js'
import { Id } from '../http/schemas.js'
import { CHANGE_ACTIONS, eventSource, eventType, sequenceOf, type ChangeAction } from './event.js'
import { routingKeyOf } from './publishers/publisher.js'

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string }

export interface AsyncApiOptions {
  models: readonly Model[]
  /** EVENT_SOURCE, the prefix of every event's `source`; its default when left out. */
  eventSource?: string
  /** RABBITMQ_EXCHANGE; its default when left out. */
  exchange?: string
}

const defaultOf = (key: 'EVENT_SOURCE' | 'RABBITMQ_EXCHANGE'): string => String((ConfigSchema.properties[key] as { default?: unknown }).default)

const CONTENT_TYPE = 'application/cloudevents+json'
const AMQP = '0.3.0'
const SQS = '0.2.0' // the latest AsyncAPI 3.0.0 accepts; the fields used here are the same in 0.3.0
const HTTP = '0.3.0'

const json = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>
const ref = (section: string, name: string): { $ref: string } => ({ $ref: `#/${section}/${name}` })
const capital = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1)

/** Restore needs a version chain: a model without history never emits `restored`. */
export const actionsOf = (model: Model): readonly ChangeAction[] => CHANGE_ACTIONS.filter((a) => a !== 'restored' || model.versioned)

const EventId = Type.String({ pattern: ID_PATTERN, description: 'Unique per event (UUIDv7 hex), the same on every redelivery: consumers drop what they have seen' })
const Traceparent = Type.String({
  pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$',
  description: 'W3C traceparent of the request that made the change (the caller\'s trace id, verso\'s span id); absent on events written outside a request'
})

/**
 * `data` of one model's events of one action: the entity as the API returns it after the change. Created and
 * updated states were validated against the model on the way in, so their declared fields are as required.
 * A delete or a restore carries the fields of a stored version over unchanged, and another writer (Rococo)
 * may have left fields out of those, so there every field is optional.
 */
function dataSchema (model: Model, action: ChangeAction): TObject {
  const validated = action === 'created' || action === 'updated'
  const own = (validated ? model.schema : Type.Partial(model.schema)).properties as TProperties
  const meta: TProperties = model.versioned
    ? {
        ...MetaFields,
        ...(action === 'created' ? { previous_version: Type.Literal(ZERO_ID, { description: 'The zero id: a first version replaces none' }) } : {}),
        active: Type.Literal(action !== 'deleted', { description: action === 'deleted' ? 'false: the entity is soft-deleted' : 'true' })
      }
    : { entity_id: Id }
  const description = model.versioned
    ? `The ${model.name} version this ${action} event commits`
    : action === 'deleted' ? `The ${model.name} as it was before the delete removed it` : `The ${model.name} as written`
  return Type.Object({ ...own, ...meta }, {
    title: `${model.name} ${action} data`,
    description,
    additionalProperties: model.allowExtra
  })
}

/** An event as the relay would publish it for the model's example. */
function exampleEvent (model: Model, action: ChangeAction, source: string): Record<string, unknown> {
  const meta = { ...EXAMPLE_META, previous_version: action === 'created' ? ZERO_ID : '019ac3f1c2d37a4b9c8d7e6f5a4b3c2d', active: action !== 'deleted' }
  return {
    specversion: '1.0',
    id: '019ac3f2a4b67c1d8e2f3a4b5c6d7e90',
    type: eventType(model.path, action),
    source: eventSource(source, model.path),
    subject: EXAMPLE_META.entity_id,
    time: EXAMPLE_META.changed_on,
    datacontenttype: 'application/json',
    partitionkey: EXAMPLE_META.entity_id,
    sequence: sequenceOf(EXAMPLE_META.changed_on),
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    data: { ...model.example, ...(model.versioned ? meta : { entity_id: EXAMPLE_META.entity_id }) }
  }
}

/** The whole CloudEvent (structured mode) of one model's action. */
function eventSchema (model: Model, action: ChangeAction, source: string, dataRef: { $ref: string }): TObject {
  const entityId = Type.String({ pattern: ID_PATTERN, description: 'The entity id' })
  return Type.Object({
    specversion: Type.Literal('1.0'),
    id: EventId,
    type: Type.Literal(eventType(model.path, action)),
    source: Type.Literal(eventSource(source, model.path), { description: 'EVENT_SOURCE + /{model}' }),
    subject: entityId,
    time: Type.String({ format: 'date-time', description: "changed_on of the version (the time of the write for a model without history), as Python's isoformat() writes it" }),
    datacontenttype: Type.Literal('application/json'),
    partitionkey: Type.String({ pattern: ID_PATTERN, description: 'CloudEvents partitioning extension: the entity id, as subject' }),
    sequence: Type.String({
      pattern: '^[0-9]{17}$',
      description: 'CloudEvents sequence extension: changed_on in microseconds since the epoch, zero-padded to 17 digits, compared as text; per entity of a versioned model it strictly increases along the version chain'
    }),
    traceparent: Type.Optional(Traceparent),
    data: Type.Unsafe(dataRef)
  }, { title: `${eventType(model.path, action)} (CloudEvents 1.0)`, additionalProperties: false, examples: [exampleEvent(model, action, source)] })
}

/** What each transport carries beside the body. Brokers and HTTP add their own: extra headers are allowed. */
const TRANSPORT_HEADERS = {
  AmqpHeaders: Type.Object({
    'ce-id': Type.String({ pattern: ID_PATTERN, description: 'The event id' }),
    'ce-subject': Type.String({ pattern: ID_PATTERN, description: 'The entity id' }),
    traceparent: Type.Optional(Traceparent)
  }, { description: 'AMQP application headers. The properties carry the rest: message_id = event id, type = event type, content_type, timestamp (Unix seconds), delivery_mode 2 (persistent)' }),
  SqsMessageAttributes: Type.Object({
    'ce-type': Type.String({ pattern: '^verso\\.', description: 'The event type (String attribute)' }),
    'ce-id': Type.String({ pattern: ID_PATTERN, description: 'The event id (String attribute)' }),
    'content-type': Type.Literal(CONTENT_TYPE),
    traceparent: Type.Optional(Traceparent)
  }, { description: 'SQS message attributes, each of DataType String (shown here by their StringValue)' }),
  WebhookHeaders: Type.Object({
    'content-type': Type.Literal(CONTENT_TYPE),
    'webhook-id': Type.String({ pattern: ID_PATTERN, description: 'Standard Webhooks: the event id' }),
    'webhook-timestamp': Type.String({ pattern: '^[0-9]+$', description: 'Standard Webhooks: Unix seconds of this delivery attempt; reject values more than 5 minutes from your clock' }),
    'webhook-signature': Type.String({
      pattern: '^v1,[A-Za-z0-9+/]{43}=$',
      description: 'Standard Webhooks: v1,<base64 HMAC-SHA256 with WEBHOOK_SECRET over "{webhook-id}.{webhook-timestamp}.{raw body}">; compare in constant time'
    }),
    traceparent: Type.Optional(Traceparent)
  }, { description: 'HTTP request headers (lower case; HTTP adds its own)' })
}
type HeaderSchema = keyof typeof TRANSPORT_HEADERS

interface Transport {
  id: 'rabbitmq' | 'sqs' | 'webhook'
  headers: HeaderSchema
  bindings: (type: string) => Record<string, unknown> | undefined
}

const TRANSPORTS: readonly Transport[] = [
  { id: 'rabbitmq', headers: 'AmqpHeaders', bindings: (type) => ({ amqp: { messageType: type, bindingVersion: AMQP } }) },
  { id: 'sqs', headers: 'SqsMessageAttributes', bindings: () => undefined },
  { id: 'webhook', headers: 'WebhookHeaders', bindings: () => ({ http: { headers: ref('components/schemas', 'WebhookHeaders'), bindingVersion: HTTP } }) }
]

/**
 * The AsyncAPI 3.0 document of verso's change events, derived from the model declarations as the OpenAPI
 * document is: every model's CloudEvent per action, and how each publisher (OUTBOX_PUBLISHER) carries it.
 */
export function buildAsyncApi (options: AsyncApiOptions): Record<string, unknown> {
  const source = options.eventSource ?? defaultOf('EVENT_SOURCE')
  const exchange = options.exchange ?? defaultOf('RABBITMQ_EXCHANGE')
  const schemas: Record<string, unknown> = {}
  const messages: Record<string, unknown> = {}
  const channels: Record<string, unknown> = {}
  const operations: Record<string, unknown> = {}
  const byTransport = new Map<Transport['id'], Record<string, { $ref: string }>>(TRANSPORTS.map((t) => [t.id, {}]))

  for (const [name, schema] of Object.entries(TRANSPORT_HEADERS)) schemas[name] = json(schema)
  for (const model of options.models) {
    for (const action of actionsOf(model)) {
      const type = eventType(model.path, action)
      const base = `${model.name}${capital(action)}`
      schemas[`${base}Data`] = json(dataSchema(model, action))
      schemas[`${base}Event`] = json(eventSchema(model, action, source, ref('components/schemas', `${base}Data`)))
      for (const transport of TRANSPORTS) {
        const key = `${transport.id}.${type}`
        const bindings = transport.bindings(type)
        messages[key] = {
          name: type,
          title: `${model.name} ${action}`,
          summary: `A ${model.name} was ${action} (${transport.id})`,
          contentType: CONTENT_TYPE,
          headers: ref('components/schemas', transport.headers),
          payload: ref('components/schemas', `${base}Event`),
          ...(bindings === undefined ? {} : { bindings })
        }
        byTransport.get(transport.id)![type] = ref('components/messages', key)
      }
      // RabbitMQ: one channel per routing key, so a consumer binds its queue to exactly the events it wants.
      const channel = `rabbitmq.${type}`
      channels[channel] = {
        address: routingKeyOf(type),
        title: `Routing key ${routingKeyOf(type)}`,
        servers: [ref('servers', 'rabbitmq')],
        messages: { [type]: ref('components/messages', `rabbitmq.${type}`) },
        bindings: {
          amqp: { is: 'routingKey', exchange: { name: exchange, type: 'topic', durable: true, autoDelete: false, vhost: '/' }, bindingVersion: AMQP }
        }
      }
      operations[`publish.${type}`] = {
        action: 'send',
        title: `Publish ${type}`,
        channel: ref('channels', channel),
        messages: [ref(`channels/${channel}/messages`, type)],
        bindings: { amqp: { deliveryMode: 2, timestamp: true, bindingVersion: AMQP } }
      }
    }
  }

  const all = (id: Transport['id']): Record<string, { $ref: string }> => byTransport.get(id)!
  const sqsQueue = (fifo: boolean): Record<string, unknown> => ({ name: fifo ? '{queue}.fifo' : '{queue}', fifoQueue: fifo, ...(fifo ? { deduplicationScope: 'queue' } : {}) })
  channels.sqs = {
    address: '{queue}',
    title: 'SQS standard queue',
    description: 'The standard queue SQS_QUEUE_URL names: batches of up to 10, at most one event per entity per call. A standard queue may reorder and duplicate: order by `sequence` per `subject`.',
    servers: [ref('servers', 'sqs')],
    parameters: { queue: { description: 'The queue name in SQS_QUEUE_URL' } },
    messages: all('sqs'),
    bindings: { sqs: { queue: sqsQueue(false), bindingVersion: SQS } }
  }
  channels['sqs.fifo'] = {
    address: '{queue}.fifo',
    title: 'SQS FIFO queue',
    description: 'A FIFO queue (SQS_QUEUE_URL ending in .fifo): MessageGroupId = the entity id (the event subject), so one entity\'s events arrive in order; MessageDeduplicationId = the event id, so SQS drops a redelivery within its 5-minute window.',
    servers: [ref('servers', 'sqs')],
    parameters: { queue: { description: 'The queue name in SQS_QUEUE_URL, without .fifo' } },
    messages: all('sqs'),
    bindings: { sqs: { queue: { ...sqsQueue(true), 'x-message-group-id': 'subject', 'x-message-deduplication-id': 'id' }, bindingVersion: SQS } }
  }
  channels.webhook = {
    address: null,
    title: 'Webhook receiver',
    description: 'POST of each CloudEvent to WEBHOOK_URL. A 2xx acknowledges; 408, 429, 5xx, timeouts (10 s) and network errors are retried with backoff; any other 4xx is final (the event is dead-lettered).',
    servers: [ref('servers', 'webhook')],
    messages: all('webhook')
  }
  for (const [id, channel, title] of [['sqs', 'sqs', 'to a standard queue'], ['sqs', 'sqs.fifo', 'to a FIFO queue'], ['webhook', 'webhook', 'to the webhook']] as const) {
    operations[`send.${channel}`] = {
      action: 'send',
      title: `Send every change ${title}`,
      channel: ref('channels', channel),
      messages: Object.keys(all(id)).map((type) => ref(`channels/${channel}/messages`, type)),
      ...(id === 'webhook' ? { bindings: { http: { method: 'POST', bindingVersion: HTTP } } } : {})
    }
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'verso change events',
      version,
      description: [
        'Every committed version leaves one CloudEvents 1.0 record (structured mode) in the outbox, written in the same DynamoDB transaction; the relay publishes it with the publisher OUTBOX_PUBLISHER names.',
        'Delivery is at least once, in order per entity: a redelivery carries the same `id` and `sequence`.',
        'The `data` of an event is the entity as the REST API returns it after the change (see /openapi.json).'
      ].join(' ')
    },
    defaultContentType: CONTENT_TYPE,
    servers: {
      rabbitmq: {
        host: '{host}',
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        description: `RABBITMQ_URL; events go to the durable topic exchange ${exchange} (RABBITMQ_EXCHANGE) with publisher confirms`,
        variables: { host: { default: 'localhost:5672', description: 'host:port of RABBITMQ_URL' } }
      },
      sqs: {
        host: 'sqs.{region}.amazonaws.com',
        protocol: 'sqs',
        description: 'Amazon SQS, the queue at SQS_QUEUE_URL',
        variables: { region: { default: 'us-east-1', description: 'AWS region of the queue' } }
      },
      webhook: {
        host: '{host}',
        protocol: 'https',
        description: 'Your receiver at WEBHOOK_URL (plain http is accepted too); verso is the HTTP client',
        variables: { host: { description: 'host of WEBHOOK_URL' } }
      }
    },
    channels,
    operations,
    components: { schemas, messages }
  }
}
