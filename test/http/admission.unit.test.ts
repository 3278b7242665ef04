/**
 * Admission (src/http/admission.ts): requests in flight are capped at what verso finishes within the target at
 * its recent rate (at least MIN_IN_FLIGHT); past it a request is answered 503 problem+json with Retry-After at
 * once, without reaching the application.
 */
import t from 'tap'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { Agent, request } from 'undici'
import { Admission, ADMISSION_RETRY_AFTER_S, admitRequests, MIN_IN_FLIGHT } from '../../src/http/admission.js'

t.test('the limit follows the rate requests finish at', async (t) => {
  const admission = new Admission(2000)
  const at = 1_000_000
  t.equal(admission.limit(at), MIN_IN_FLIGHT, 'no rate yet: the floor')
  for (let i = 0; i < MIN_IN_FLIGHT; i++) t.ok(admission.admit(at))
  t.notOk(admission.admit(at), 'one past the floor is shed')
  t.equal(admission.shed, 1)
  // 100 a second for two seconds: 200 in flight fit in 2 s.
  for (let ms = 0; ms < 2000; ms += 10) { admission.done(at + ms); admission.admit(at + ms) }
  t.equal(admission.limit(at + 1999), 200)
  t.equal(admission.limit(at + 10_000), MIN_IN_FLIGHT, 'the rate is forgotten after two quiet seconds')
})

t.test('requests answered 503 after admission do not count toward the rate', async (t) => {
  const admission = new Admission(2000)
  const at = 1_000_000
  // 100 a second served for two seconds, and beside them 1000 a second shed by the event-loop shedding.
  for (let ms = 0; ms < 2000; ms += 10) {
    admission.admit(at + ms)
    admission.done(at + ms)
    for (let i = 0; i < 10; i++) { admission.admit(at + ms); admission.done(at + ms, false) }
  }
  t.equal(admission.inFlight, 0, 'every admitted request, served or shed, leaves the count in flight')
  t.equal(admission.limit(at + 1999), 200, 'the limit is what verso served, not what it turned away')
})

t.test('a hanging application: requests past the limit are answered 503 with Retry-After at once', async (t) => {
  const seen = { reached: 0 }
  const hanging = createServer(() => { seen.reached++ })
  const until = async (done: () => boolean): Promise<void> => { while (!done()) await new Promise((resolve) => setTimeout(resolve, 10)) }
  admitRequests(hanging, new Admission(2000))
  hanging.listen(0, '127.0.0.1')
  await once(hanging, 'listening')
  const origin = `http://127.0.0.1:${(hanging.address() as { port: number }).port}`
  const agent = new Agent({ connections: MIN_IN_FLIGHT + 10 })
  t.teardown(async () => { hanging.closeAllConnections(); hanging.close(); await agent.destroy() })
  const held = Array.from({ length: MIN_IN_FLIGHT }, async () => await request(`${origin}/person`, { dispatcher: agent }).catch(() => undefined))
  await until(() => seen.reached === MIN_IN_FLIGHT)
  const shed = await request(`${origin}/person?x=1`, { dispatcher: agent })
  t.equal(shed.statusCode, 503)
  t.equal(shed.headers['retry-after'], String(ADMISSION_RETRY_AFTER_S))
  t.match(shed.headers['content-type'], /^application\/problem\+json/)
  t.match(await shed.body.json(), { status: 503, code: 'VERSO_OVERLOADED', instance: '/person' })
  t.equal(seen.reached, MIN_IN_FLIGHT, 'the shed request never reached the application')
  const live = request(`${origin}/health/live`, { dispatcher: agent }).catch(() => undefined)
  await until(() => seen.reached > MIN_IN_FLIGHT)
  t.pass('liveness is let in past the limit')
  hanging.closeAllConnections()
  await Promise.all([...held, live])
})

t.test('an application answering 503 (its own shedding) raises no limit; one answering 200 does', async (t) => {
  for (const status of [503, 200]) {
    const admission = new Admission(60_000)
    const server = createServer((_request, response) => { response.statusCode = status; response.end() })
    admitRequests(server, admission)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    for (let i = 0; i < 20; i++) await (await request(`${origin}/person`)).body.dump()
    server.close()
    for (let waited = 0; admission.inFlight > 0 && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
    if (status === 503) t.equal(admission.limit(), MIN_IN_FLIGHT, '503s leave the floor')
    else t.ok(admission.limit() > MIN_IN_FLIGHT, '200s raise it')
    t.equal(admission.inFlight, 0)
  }
})
