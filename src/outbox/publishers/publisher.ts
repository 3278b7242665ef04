/** One outbox record as the relay hands it to a publisher. */
export interface OutboxRecord {
  shard: number
  sk: string
  eventId: string
  entityId: string
  /** CloudEvents type: verso.{model}.{action} */
  type: string
  /** The CloudEvent, JSON text exactly as committed. */
  body: string
  /** The event's `traceparent` extension, for a transport header (W3C Trace Context); absent when it has none. */
  traceparent?: string
}

/**
 * What happened to one record: `ok` (the broker has it: remove it from the outbox), `retry` (try again
 * later: the broker is down, slow or said so), `reject` (the broker refuses it for good: dead-letter it).
 */
export type Outcome = { status: 'ok' } | { status: 'retry', reason: string } | { status: 'reject', reason: string }

export interface Publisher {
  readonly name: string
  /**
   * Publishes records in the order given; per entity, a record after a failed one of the same entity is
   * not sent (it comes back as `retry`), so that first deliveries keep per-entity order.
   */
  publish: (records: readonly OutboxRecord[]) => Promise<Outcome[]>
  close: () => Promise<void>
}

export const OK: Outcome = { status: 'ok' }

/** `verso.person.updated` → `person.updated`: the routing key / subject of an event. */
export const routingKeyOf = (type: string): string => type.replace(/^verso\./, '')

/**
 * Runs `send` for each record in order, one at a time per entity and up to `concurrency` entities at
 * once. After a failure, that entity's later records are not sent in this batch.
 */
export async function publishPerEntity (records: readonly OutboxRecord[], concurrency: number, send: (record: OutboxRecord) => Promise<Outcome>): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(records.length)
  const chains = new Map<string, number[]>()
  records.forEach((r, i) => { chains.set(r.entityId, [...(chains.get(r.entityId) ?? []), i]) })
  const queue = [...chains.values()]
  const worker = async (): Promise<void> => {
    for (let chain = queue.shift(); chain !== undefined; chain = queue.shift()) {
      let blocked: Outcome | undefined
      for (const i of chain) {
        if (blocked !== undefined) {
          outcomes[i] = { status: 'retry', reason: 'an earlier event of the same entity was not delivered' }
          continue
        }
        const outcome = await send(records[i]!)
        outcomes[i] = outcome
        if (outcome.status === 'retry') blocked = outcome
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker))
  return outcomes
}
