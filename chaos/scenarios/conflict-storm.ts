/**
 * Scenario 1, conflict storm: many writers per entity, each retrying its read-modify-write on 412, until the
 * entities have taken the planned number of writes. The optimistic lock must let exactly one writer win each
 * version and lose no update.
 */
import { answersVerdict, settle } from '../invariants.js'
import { createEntities, Ledger, openWorld, runWriters } from '../harness.js'
import type { Scenario, Verdict } from '../scenario.js'

const SIZES = {
  full: { entities: 10, writers: 16, writes: 2000, maxMs: 300_000 },
  // The storm ends as soon as the writes are done; the bound only matters on a loaded CI machine.
  ci: { entities: 3, writers: 6, writes: 60, maxMs: 120_000 }
}

/** The storm's size verdict: exactly what its label says, the planned writes acknowledged within the time. */
export function writesVerdict (planned: number, maxMs: number, updates: number, attempts: number, seconds: number, fewest: number): Verdict {
  return {
    invariant: `${planned} successful writes within ${maxMs / 1000} s`,
    ok: updates >= planned && seconds * 1000 <= maxMs,
    detail: `${updates} writes acknowledged out of ${attempts} attempts (${((1 - updates / Math.max(1, attempts)) * 100).toFixed(0)}% lost the race and retried) in ${seconds.toFixed(1)} s, fewest on one entity ${fewest}`
  }
}

export const conflictStorm: Scenario = {
  name: 'conflict-storm',
  run: async ({ scale, log }) => {
    const size = SIZES[scale]
    const world = await openWorld({ scale, log }, 'conflict-storm', { broker: 'optional' })
    try {
      const ledger = new Ledger('storm')
      await createEntities(world.verso.base, ledger, size.entities)
      const quota = size.writes / size.entities
      const started = Date.now()
      const deadline = started + size.maxMs
      log(`conflict-storm: ${size.entities} entities × ${size.writers} writers, ${size.writes} writes`)
      await runWriters(world.verso.base, ledger, ledger.entityIds, size.writers, (id) => (ledger.okByEntity.get(id) ?? 0) >= quota || Date.now() > deadline)
      const seconds = (Date.now() - started) / 1000
      const updates = ledger.acknowledged() - size.entities
      const attempts = ledger.writes.length - size.entities
      log(`conflict-storm: ${updates} writes in ${seconds.toFixed(1)} s (${attempts} attempts)`)
      const unknown = ledger.writes.filter((w) => w.outcome === 'unknown').length
      const fewest = Math.min(...ledger.entityIds.map((id) => (ledger.okByEntity.get(id) ?? 0)))
      const verdicts: Verdict[] = [
        writesVerdict(size.writes, size.maxMs, updates, attempts, seconds, fewest),
        // A write still waiting on DynamoDB at STORAGE_TIMEOUT_MS is answered 503: its outcome is unknown to the
        // writer, and the invariants below accept either outcome as long as it is whole.
        { invariant: 'every write answered: a definite answer, or 503 at the storage deadline (no other 5xx, none left hanging)', ok: ledger.writes.every((w) => w.outcome !== 'unknown' || w.status === 503), detail: `${unknown} writes answered 503 (outcome unknown), ${ledger.noAnswer} requests with no answer` },
        answersVerdict(ledger)
      ]
      return [...verdicts, ...await settle(world, ledger, scale === 'full' ? 60_000 : 20_000)]
    } finally {
      await world.close()
    }
  }
}
