import { spawn, type ChildProcess } from 'node:child_process'
import { pino } from 'pino'
import type { Test } from 'tap'
import { OutboxRelay } from '../../src/outbox/relay.js'
import type { Publisher } from '../../src/outbox/publishers/publisher.js'
import { ZERO_ID } from '../../src/models/entity.js'
import { endpoint, etag, json, type TestContext } from '../support/helper.js'
import type { Received } from '../support/rabbit.js'

export const silent = pino({ level: 'silent' })

/** An in-process relay on the test's tables (setup() uses 4 outbox shards), stopped at teardown. */
export function startRelay (t: Test, ctx: TestContext, publisher: Publisher, overrides: { leaseMs?: number, batchSize?: number } = {}): OutboxRelay {
  const relay = new OutboxRelay({
    client: ctx.client,
    tablePrefix: ctx.prefix,
    shards: 4,
    publisher,
    log: silent,
    batchSize: overrides.batchSize ?? 25,
    concurrency: 4,
    leaseMs: overrides.leaseMs ?? 3000,
    idlePollMs: 50,
    statsMs: 60_000
  })
  relay.start()
  t.teardown(async () => { await relay.stop() })
  return relay
}

/** `npm run relay` as a child process on the test's tables. */
export function spawnRelay (t: Test, ctx: TestContext, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/relay.ts'], {
    env: {
      ...process.env,
      DYNAMODB_ENDPOINT: endpoint(),
      AUTH_MODE: 'none',
      TABLE_PREFIX: ctx.prefix,
      OUTBOX_SHARDS: '4',
      CREATE_TABLES: 'false',
      RELAY_LEASE_MS: '1500',
      RELAY_IDLE_POLL_MS: '50',
      RELAY_BATCH_SIZE: '10',
      LOG_LEVEL: 'warn',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  return child
}

/** Creates `entities` people and updates each `updates` times, interleaved (one sequential writer per entity). Returns every committed version by entity. */
export async function writeHistories (ctx: TestContext, entities: number, updates: number): Promise<Map<string, string[]>> {
  const histories = new Map<string, string[]>()
  await Promise.all(Array.from({ length: entities }, async (_, e) => {
    const created = json(await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: `E${e}`, last_name: 'v0' } }))
    const versions = [String(created.version)]
    histories.set(String(created.entity_id), versions)
    for (let u = 1; u <= updates; u++) {
      const res = await ctx.app.inject({ method: 'PUT', url: `/person/${String(created.entity_id)}`, headers: { 'if-match': etag(versions[versions.length - 1]) }, payload: { first_name: `E${e}`, last_name: `v${u}` } })
      if (res.statusCode !== 200) throw new Error(`update failed: ${res.statusCode} ${res.body}`)
      versions.push(String(json(res).version))
    }
  }))
  return histories
}

export const total = (histories: Map<string, string[]>): number => [...histories.values()].reduce((n, v) => n + v.length, 0)

/**
 * What a consumer saw, checked against what was committed: every version arrived (at least once), each
 * duplicate carries the id of its first delivery, and per entity the first deliveries follow the chain.
 */
export function checkDelivery (t: Test, histories: Map<string, string[]>, received: Received[], options: { exactlyOnce: boolean }): void {
  const firstSeen = new Map<string, Received>()
  for (const r of received) if (!firstSeen.has(r.id)) firstSeen.set(r.id, r)
  t.equal(firstSeen.size, total(histories), 'every committed version was delivered')
  if (options.exactlyOnce) t.equal(received.length, firstSeen.size, 'no duplicates')
  const changed = received.filter((r) => JSON.stringify(r.event) !== JSON.stringify(firstSeen.get(r.id)?.event))
  t.same(changed, [], 'a redelivery carries the same event as the first delivery')
  for (const [entityId, versions] of histories) {
    const chain = [...firstSeen.values()].filter((r) => r.event.subject === entityId).map((r) => String(r.event.data.version))
    t.same(chain, versions, `entity ${entityId.slice(0, 8)}: first deliveries in version-chain order`)
    const first = [...firstSeen.values()].find((r) => r.event.subject === entityId)
    t.equal(first?.event.data.previous_version, ZERO_ID, 'the chain starts at the creation')
  }
}
