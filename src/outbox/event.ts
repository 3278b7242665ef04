import { createHash } from 'node:crypto'
import { marshall } from '@aws-sdk/util-dynamodb'
import type { Item } from '../storage/item-mapping.js'
import type { Entity } from '../models/entity.js'
import { newVersion, parseTimestampMicros } from '../models/entity.js'

export const CHANGE_ACTIONS = ['created', 'updated', 'deleted', 'restored'] as const
export type ChangeAction = typeof CHANGE_ACTIONS[number]

/** The CloudEvents `type` of a model's change: `verso.person.updated`. */
export const eventType = (modelPath: string, action: ChangeAction): string => `verso.${modelPath}.${action}`
/** The CloudEvents `source` of a model's events: EVENT_SOURCE + `/{model}` (`/verso/person`). */
export const eventSource = (source: string, modelPath: string): string => `${source.replace(/\/$/, '')}/${modelPath}`

/** A CloudEvents 1.0 record in structured mode (https://github.com/cloudevents/spec). */
export interface ChangeEvent {
  specversion: '1.0'
  id: string
  type: string
  source: string
  subject: string
  time: string
  datacontenttype: 'application/json'
  /** CloudEvents partitioning extension: events of one entity share a partition. */
  partitionkey: string
  /**
   * CloudEvents sequence extension: `changed_on` in microseconds since the epoch, zero-padded to 17 digits.
   * Per entity it strictly increases along the version chain (docs/events.md), and as a fixed-width string it
   * compares correctly as text, which is how the extension says to compare it.
   */
  sequence: string
  /**
   * CloudEvents distributed-tracing extension: the W3C traceparent of the request that made the change (its
   * trace id, verso's span), so a consumer can continue the trace. Absent on events written without one.
   */
  traceparent?: string
  data: Entity
}

export function buildEvent (modelPath: string, action: ChangeAction, state: Entity, time: string, source: string, traceparent?: string): ChangeEvent {
  const entityId = String(state.entity_id)
  return {
    specversion: '1.0',
    id: newVersion(),
    type: eventType(modelPath, action),
    source: eventSource(source, modelPath),
    subject: entityId,
    time,
    datacontenttype: 'application/json',
    partitionkey: entityId,
    sequence: sequenceOf(time),
    ...(traceparent === undefined ? {} : { traceparent }),
    data: state
  }
}

export const sequenceOf = (time: string): string => String(parseTimestampMicros(time) ?? Date.now() * 1000).padStart(17, '0')

/** The shard of an entity's events: a stable hash of its id, so one entity's events stay in one shard, in order. */
export function shardOf (entityId: string, shards: number): number {
  return createHash('sha1').update(entityId).digest().readUInt32BE(0) % shards
}

/**
 * The outbox item: partition `shard`, sort key `sk` = zero-padded microseconds of the event time, then the
 * event id. An entity's `changed_on` strictly increases, so a shard read oldest-first is in per-entity order.
 */
export function outboxItem (event: ChangeEvent, shards: number): Item {
  return marshall({
    shard: shardOf(event.subject, shards),
    sk: `${event.sequence}#${event.id}`,
    event_id: event.id,
    entity_id: event.subject,
    type: event.type,
    created_at: new Date().toISOString(),
    // Beside the event too, so a publisher can set a transport header without parsing the event.
    ...(event.traceparent === undefined ? {} : { traceparent: event.traceparent }),
    event: JSON.stringify(event)
  })
}
