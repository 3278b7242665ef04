/**
 * Scenario 2, crash mid-write: verso is SIGKILLed at random moments under write load and started again. A
 * write whose answer died with the process may or may not have committed; what did commit must be whole
 * (version, audit copy of its predecessor, event), and the relay of the next process must publish what the
 * killed one left behind.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { answersVerdict, settle } from '../invariants.js'
import { between, createEntities, Ledger, openWorld, runWriters } from '../harness.js'
import type { Scenario } from '../scenario.js'

const SIZES = {
  full: { entities: 16, writers: 2, crashes: 10, upMs: [500, 2500] as [number, number] },
  ci: { entities: 4, writers: 2, crashes: 2, upMs: [300, 1200] as [number, number] }
}

export const crashMidWrite: Scenario = {
  name: 'crash-mid-write',
  run: async ({ scale, log }) => {
    const size = SIZES[scale]
    const world = await openWorld({ scale, log }, 'crash-mid-write', { broker: 'optional' })
    try {
      const ledger = new Ledger('crash')
      await createEntities(world.verso.base, ledger, size.entities)
      let stopped = false
      const writers = runWriters(world.verso.base, ledger, ledger.entityIds, size.writers, () => stopped)
      let restarts = 0
      let failure: unknown
      // From each kill until the next process answered its readiness check: the only time a request may go unanswered.
      const downtimes: Array<[number, number]> = []
      try {
        for (let crash = 1; crash <= size.crashes; crash++) {
          await sleep(between(...size.upMs))
          const before = ledger.writes.length
          const down: [number, number] = [Date.now(), Infinity]
          downtimes.push(down)
          await world.verso.kill()
          await sleep(between(20, 300))
          await world.verso.restart()
          down[1] = Date.now()
          restarts++
          log(`crash-mid-write: SIGKILL ${crash}/${size.crashes} after ${before} writes; restarted`)
        }
        await sleep(1000)
      } catch (err) {
        failure = err
      } finally {
        stopped = true
        await writers
      }
      const unknown = ledger.writes.filter((w) => w.outcome === 'unknown').length
      return [
        { invariant: 'verso serves again after every SIGKILL', ok: restarts === size.crashes, detail: failure === undefined ? `${restarts} kills, ${restarts} restarts; ${ledger.acknowledged()} writes acknowledged, ${unknown} lost their answer` : String(failure) },
        answersVerdict(ledger, { downtimes }),
        ...await settle(world, ledger, scale === 'full' ? 90_000 : 30_000)
      ]
    } finally {
      await world.close()
    }
  }
}
