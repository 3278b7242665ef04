import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Deadline, signalExpiry } from '../../src/storage/deadline.js'

t.test('a deadline expires at its time and tells the calls waiting on it, once', async (t) => {
  const deadline = Deadline.in(50)
  t.notOk(deadline.expired)
  let told = 0
  deadline.whenExpired(() => { told++ })
  deadline.whenExpired(() => { told++ })
  await sleep(20)
  t.equal(told, 0, 'not before')
  await sleep(60)
  t.ok(deadline.expired)
  t.equal(told, 2, 'both waiters, once each')
})

t.test('a call that finishes first is not told, and leaves no timer running', async (t) => {
  // Its timer is unref'd (never listed as an active resource): watch it being set and cleared instead.
  const { setTimeout: set, clearTimeout: clear } = globalThis
  const live = new Set<unknown>()
  globalThis.setTimeout = ((...args: Parameters<typeof set>) => { const timer = set(...args); live.add(timer); return timer }) as typeof set
  globalThis.clearTimeout = ((timer: NodeJS.Timeout) => { live.delete(timer); clear(timer) }) as typeof clear
  t.teardown(() => { globalThis.setTimeout = set; globalThis.clearTimeout = clear })
  const deadline = Deadline.in(30)
  let told = 0
  const stop = deadline.whenExpired(() => { told++ })
  t.equal(live.size, 1, 'armed while a call waits')
  stop()
  t.equal(live.size, 0, 'cleared when it finishes')
  globalThis.setTimeout = set
  globalThis.clearTimeout = clear
  await sleep(60)
  t.equal(told, 0)
  t.ok(deadline.expired, 'the deadline still passes')
})

t.test('a later call re-arms it; one still waiting keeps it armed', async (t) => {
  const deadline = Deadline.in(40)
  const first = deadline.whenExpired(() => { t.fail('the first call finished') })
  first()
  let told = false
  deadline.whenExpired(() => { told = true })
  const other = deadline.whenExpired(() => {})
  other()
  await sleep(80)
  t.ok(told, 'the call still waiting is told')
})

t.test('expire() ends it now, and a call starting after that is told at once', async (t) => {
  const deadline = Deadline.in(60_000)
  let told = 0
  deadline.whenExpired(() => { told++ })
  deadline.expire()
  t.ok(deadline.expired)
  t.equal(told, 1)
  deadline.whenExpired(() => { told++ })
  await sleep(10)
  t.equal(told, 2)
  t.ok(Deadline.in(0).expired, 'a deadline of 0 ms has passed already')
})

t.test('an AbortSignal seen as an expiry', async (t) => {
  const controller = new AbortController()
  const expiry = signalExpiry(controller.signal)
  let told = 0
  const stop = expiry.whenExpired(() => { told++ })
  expiry.whenExpired(() => { told++ })
  stop()
  t.notOk(expiry.expired)
  controller.abort()
  t.ok(expiry.expired)
  t.equal(told, 1, 'only the waiter still registered')
})
