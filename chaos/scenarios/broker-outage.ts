/**
 * Scenario 3, broker outage: RabbitMQ is unreachable for a while under write load. The outage is made at the
 * network level: the relay talks to RabbitMQ through a TCP proxy that drops every connection and refuses new
 * ones, then listens again (the machine's broker itself keeps running for everyone else). Writes must not
 * notice; events wait in the outbox and are all delivered afterwards, in order per entity.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { outboxTable } from '../../src/storage/table-names.js'
import { answersVerdict, settle } from '../invariants.js'
import { scanAll } from '../../src/storage/scan.js'
import { createEntities, Ledger, openWorld, runWriters } from '../harness.js'
import type { Scenario } from '../scenario.js'

const SIZES = {
  full: { entities: 8, outageMs: 20_000, aroundMs: 2000, drainMs: 90_000 },
  ci: { entities: 3, outageMs: 3000, aroundMs: 1000, drainMs: 30_000 }
}

export const brokerOutage: Scenario = {
  name: 'broker-outage',
  run: async ({ scale, log }) => {
    const size = SIZES[scale]
    const world = await openWorld({ scale, log }, 'broker-outage', { broker: 'required' })
    const { proxy, consumer } = world
    try {
      if (proxy === undefined || consumer === undefined) throw new Error('broker-outage needs RabbitMQ')
      const ledger = new Ledger('broker')
      await createEntities(world.verso.base, ledger, size.entities)
      let stopped = false
      const writers = runWriters(world.verso.base, ledger, ledger.entityIds, 1, () => stopped)
      let during = { acked: 0, unknown: 0 }
      let pendingAtRestore = 0
      let deliveredDuring = 0
      try {
        await sleep(size.aroundMs)
        await proxy.cut()
        log(`broker-outage: broker cut off for ${size.outageMs / 1000} s`)
        const cutAt = { writes: ledger.writes.length, acked: ledger.acknowledged(), received: consumer.received.length }
        await sleep(size.outageMs)
        const sinceCut = ledger.writes.slice(cutAt.writes)
        during = { acked: ledger.acknowledged() - cutAt.acked, unknown: sinceCut.filter((w) => w.outcome === 'unknown').length }
        // Confirms in flight when the proxy cut may still land in the first moment; later arrivals mean no outage.
        deliveredDuring = consumer.received.length - cutAt.received
        pendingAtRestore = (await scanAll(world.client, outboxTable(world.prefix))).length
        await proxy.restore()
        log(`broker-outage: broker reachable again, ${pendingAtRestore} events waiting in the outbox`)
        await sleep(size.aroundMs)
      } finally {
        stopped = true
        await writers
      }
      const restoredAt = Date.now()
      const verdicts = await settle(world, ledger, size.drainMs)
      const caughtUp = ((Date.now() - restoredAt) / 1000).toFixed(1)
      return [
        { invariant: 'writes keep succeeding while the broker is down', ok: during.acked > 0 && during.unknown === 0, detail: `${during.acked} writes acknowledged during the outage, ${during.unknown} without a definite answer` },
        { invariant: 'events wait in the outbox during the outage', ok: pendingAtRestore > 0, detail: `${pendingAtRestore} events pending when the broker came back, ${deliveredDuring} delivered after the cut (confirms in flight)` },
        answersVerdict(ledger),
        ...verdicts.map((v) => v.invariant.startsWith('outbox drained') ? { ...v, detail: `${v.detail}; delivery caught up ${caughtUp} s after the load stopped` } : v)
      ]
    } finally {
      await world.close()
    }
  }
}
