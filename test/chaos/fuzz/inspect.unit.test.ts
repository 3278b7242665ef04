import t from 'tap'
import { Inspector, PROMPT_CLOSE_MS } from '../../../chaos/fuzz/inspect.js'
import { parseAnswer, send } from '../../../chaos/fuzz/send.js'
import { createServer, type Server } from 'node:net'
import { Client } from 'undici'

const problem = (status: number, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: 'urn:verso:problem:x', title: 'X', status, detail: 'd', instance: '/person', code: 'VERSO_X', ...extra })
const json = { 'content-type': 'application/problem+json; charset=utf-8' }

t.test('the inspector catches what the invariants forbid, and only that', async (t) => {
  const inspector = new Inspector()
  const request = { label: 'case', method: 'POST', path: '/person', body: '{"first_name":"TypeError: mine"}' }
  inspector.record(request, { answer: { status: 400, headers: json, body: problem(400, { errors: [{ path: '/body/first_name', message: 'TypeError: mine is echoed' }] }) } }, 1)
  inspector.record(request, { answer: { status: 201, headers: { 'content-type': 'application/json' }, body: '{"first_name":"TypeError: mine"}' } }, 1)
  t.equal(inspector.leakCount + inspector.notProblemCount + inspector.serverErrorCount, 0, 'echoed client text and well-formed problems pass')

  inspector.record(request, { answer: { status: 500, headers: json, body: problem(500) } }, 1)
  t.equal(inspector.serverErrorCount, 1, 'a 5xx counts')
  inspector.record(request, { answer: { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' } }, 1)
  inspector.record(request, { answer: { status: 400, headers: json, body: problem(401) } }, 1)
  inspector.record(request, { answer: { status: 400, headers: json, body: problem(400, { code: 'BAD' }) } }, 1)
  t.equal(inspector.notProblemCount, 3, 'wrong media type, status member or code')
  for (const leak of ['at handler (/work/main/src/app.ts:10:5)', 'ValidationException', 'Cannot read properties of undefined', 'node_modules/fastify']) {
    inspector.record(request, { answer: { status: 400, headers: json, body: problem(400, { detail: leak }) } }, 1)
  }
  t.equal(inspector.leakCount, 4, 'stack frames, SDK exceptions, runtime messages, paths')
  inspector.record({ ...request, expect: 413 }, { answer: { status: 400, headers: json, body: problem(400) } }, 1)
  t.equal(inspector.unexpectedCount, 1)
})

t.test('no answer: only a non-request closed promptly by the server passes', async (t) => {
  const inspector = new Inspector()
  const request = { label: 'case', method: 'POST', path: '/person' }
  const notARequest = { ...request, mayCloseWithoutAnswer: true }
  inspector.record(notARequest, { failure: 'closed without an answer', ending: 'closed' }, 5)
  t.equal(inspector.unansweredCount, 0, 'closed on purpose, promptly')
  inspector.record(notARequest, { failure: 'no answer before the client gave up', ending: 'timeout' }, 8000)
  t.equal(inspector.unansweredCount, 1, 'a hang that the client timer ended is no answer, flag or not')
  inspector.record(notARequest, { failure: 'closed without an answer', ending: 'closed' }, PROMPT_CLOSE_MS + 1)
  t.equal(inspector.unansweredCount, 2, 'closed only after a long wait is no answer')
  inspector.record(request, { failure: 'closed without an answer', ending: 'closed' }, 5)
  t.equal(inspector.unansweredCount, 3, 'a request closed without an answer is no answer')
})

t.test('raw answers: interim 100 Continue skipped, chunked bodies joined', async (t) => {
  const answer = parseAnswer(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Payload Too Large\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'))
  t.equal(answer?.status, 413)
  t.equal(answer?.body, 'abcde')
})

t.test('against a misbehaving service: a hanging handler and a silent close are no answer', async (t) => {
  const listen = async (server: Server): Promise<string> => await new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)
  }))
  const hanging = createServer((socket) => { socket.resume() })
  const closing = createServer((socket) => { socket.once('data', () => { socket.end() }) })
  const sockets = new Set<import('node:net').Socket>()
  hanging.on('connection', (s) => sockets.add(s))
  t.teardown(() => { for (const s of sockets) s.destroy(); hanging.close(); closing.close() })
  const [hangs, closes] = [await listen(hanging), await listen(closing)]
  const inspector = new Inspector()
  const cases = [
    { origin: hangs, request: { label: 'raw hang', method: 'RAW', path: '', raw: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', mayCloseWithoutAnswer: true } },
    { origin: hangs, request: { label: 'hang', method: 'GET', path: '/' } },
    { origin: closes, request: { label: 'raw close', method: 'RAW', path: '', raw: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' } },
    { origin: closes, request: { label: 'close', method: 'GET', path: '/' } }
  ]
  for (const { origin, request } of cases) {
    const client = new Client(origin)
    const outcome = await send(client, origin, request, 300)
    await client.destroy()
    t.match(outcome, { ending: origin === hangs ? 'timeout' : 'closed' }, `${request.label}: ${JSON.stringify(outcome)}`)
    inspector.record(request, outcome, origin === hangs ? 300 : 5)
  }
  t.equal(inspector.unansweredCount, 4, 'each counts as unanswered, the flagged hang included')
  // Raw requests open a socket of their own: the client is not used.
  const unused = new Client(closes)
  inspector.record({ ...cases[2]!.request, mayCloseWithoutAnswer: true }, await send(unused, closes, cases[2]!.request, 300), 5)
  await unused.destroy()
  t.equal(inspector.unansweredCount, 4, 'a prompt close of what is no request passes')
})
