import { randomBytes } from 'node:crypto'
import { createServer as createHttpServer, type RequestListener } from 'node:http'
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net'
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { SignatureV4 } from '@smithy/signature-v4'
import type { FinalizeRequestMiddleware } from '@smithy/types'
import t from 'tap'
import { boundedSender, createDynamoClient, observeCalls, type ObservedCall } from '../../src/storage/client.js'
import { Deadline } from '../../src/storage/deadline.js'
import { guarded } from '../../src/storage/aws-errors.js'
import { endpoint } from '../support/helper.js'

// verso's transport (UndiciHandler) under the SDK: each failure must reach the SDK's retry strategy as the
// error it knows from its own handler, and each request's deadline (found by the call's input) must bind
// its own calls only.

interface FakeEndpoint { url: string, connections: () => number, open: () => number, close: () => Promise<void> }

/** A TCP endpoint that accepts connections and does `onConnection` with each: stall, hang up, or forward. */
async function tcpEndpoint (onConnection: (socket: Socket) => void): Promise<FakeEndpoint> {
  const sockets = new Set<Socket>()
  let connections = 0
  const server: Server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    onConnection(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => connections,
    open: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** Accepts, reads, never answers: a DynamoDB behind a dead network path. */
const stalling = async (): Promise<FakeEndpoint> => await tcpEndpoint(() => {})
/** Accepts, and closes the connection once the request has arrived, without an answer. */
const hangingUp = async (): Promise<FakeEndpoint> => await tcpEndpoint((socket) => { socket.once('data', () => socket.destroy()) })
/** Forwards to the run's DynamoDB Local. */
const forwarding = async (): Promise<FakeEndpoint> => {
  const target = new URL(endpoint())
  return await tcpEndpoint((socket) => {
    const upstream = tcpConnect(Number(target.port), target.hostname)
    upstream.on('error', () => socket.destroy())
    socket.on('close', () => upstream.destroy())
    upstream.on('close', () => socket.destroy())
    socket.pipe(upstream).pipe(socket)
  })
}

/** An HTTP endpoint answering each request with `handler`: a DynamoDB that throttles, records or refuses. */
async function httpEndpoint (handler: RequestListener): Promise<{ url: string, close: () => Promise<void> }> {
  const server = createHttpServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)) }
  }
}

const attemptsOf = (err: unknown): number | undefined => (err as { $metadata?: { attempts?: number } }).$metadata?.attempts
const failure = async (call: Promise<unknown>): Promise<Error & { code?: string }> => {
  try {
    await call
  } catch (err) {
    return err as Error & { code?: string }
  }
  throw new Error('the call succeeded')
}

async function withTable (client: DynamoDBClient): Promise<string> {
  const TableName = `tr${randomBytes(4).toString('hex')}`
  await client.send(new CreateTableCommand({
    TableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }]
  }))
  await client.send(new PutItemCommand({ TableName, Item: { pk: { S: 'a' }, name: { S: 'Ada' }, tags: { SS: ['x', 'y'] } } }))
  return TableName
}

const getA = (TableName: string): GetItemCommand => new GetItemCommand({ TableName, Key: { pk: { S: 'a' } }, ConsistentRead: true })

t.test('calls go through: a put and a consistent get', async (t) => {
  const client = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { client.destroy() })
  const table = await withTable(client)
  const { Item, $metadata } = await client.send(getA(table))
  t.same(Item, { pk: { S: 'a' }, name: { S: 'Ada' }, tags: { SS: ['x', 'y'] } })
  t.equal($metadata.httpStatusCode, 200)
  const bounded = await boundedSender(client, Deadline.in(30_000)).send(getA(table))
  t.same(bounded.Item?.name, { S: 'Ada' }, 'and under a deadline')
})

t.test('a missing table: ResourceNotFoundException after one attempt', async (t) => {
  const client = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { client.destroy() })
  const err = await failure(client.send(getA(`missing${randomBytes(4).toString('hex')}`)))
  t.equal(err.name, 'ResourceNotFoundException')
  t.equal(attemptsOf(err), 1, 'not retried')
})

t.test('a refused connection: retried, then ECONNREFUSED', async (t) => {
  const client = createDynamoClient({ endpoint: 'http://127.0.0.1:1' })
  t.teardown(() => { client.destroy() })
  const err = await failure(client.send(getA('any')))
  t.equal(err.code, 'ECONNREFUSED')
  t.equal(attemptsOf(err), 3, 'all three attempts made')
  t.match(await failure(guarded(client.send(getA('any')))), { code: 'VERSO_STORAGE_UNAVAILABLE' }, 'a 503 for the request')
})

t.test('a connection closed without an answer: ECONNRESET, retried', async (t) => {
  const server = await hangingUp()
  const client = createDynamoClient({ endpoint: server.url })
  t.teardown(async () => { client.destroy(); await server.close() })
  const err = await failure(client.send(getA('any')))
  t.equal(err.code, 'ECONNRESET')
  t.equal(attemptsOf(err), 3)
  t.equal(server.connections(), 3, 'each attempt on a connection of its own')
})

t.test('an endpoint that never answers, outside any deadline (as the relay calls): TimeoutError per attempt, retried, then the call ends', async (t) => {
  const server = await stalling()
  const client = createDynamoClient({ endpoint: server.url, requestTimeoutMs: 300 })
  t.teardown(async () => { client.destroy(); await server.close() })
  const err = await failure(client.send(getA('any')))
  t.equal(err.name, 'TimeoutError')
  t.equal(attemptsOf(err), 3, 'a timeout is retried')
  t.equal(server.connections(), 3, 'a timed-out connection is not reused')
  t.match(await failure(guarded(client.send(getA('any')))), { code: 'VERSO_STORAGE_UNAVAILABLE' })
})

t.test('a deadline aborts the running attempt: AbortError, not retried, 503 VERSO_STORAGE_TIMEOUT', async (t) => {
  const server = await stalling()
  const client = createDynamoClient({ endpoint: server.url })
  t.teardown(async () => { client.destroy(); await server.close() })
  const err = await failure(boundedSender(client, Deadline.in(200)).send(getA('any')))
  t.equal(err.name, 'AbortError')
  t.equal(attemptsOf(err), 1, 'not retried')
  t.equal(server.connections(), 1)
  t.match(await failure(guarded(boundedSender(client, Deadline.in(200)).send(getA('any')))), { code: 'VERSO_STORAGE_TIMEOUT' })
  const before = server.connections()
  t.equal((await failure(boundedSender(client, Deadline.in(0)).send(getA('any')))).name, 'AbortError', 'a deadline already past: no attempt at all')
  t.equal(server.connections(), before, 'no connection opened for it')
})

t.test('a deadline that passes while the SDK waits to retry ends the call then, not after the wait', async (t) => {
  // Throttled, with a Retry-After that makes the SDK wait at least 4 s before its second attempt.
  let requests = 0
  const server = await httpEndpoint((req, res) => {
    requests++
    req.resume()
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'retry-after': '4' })
    res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate exceeded' }))
  })
  const client = createDynamoClient({ endpoint: server.url })
  t.teardown(async () => { client.destroy(); await server.close() })
  let attempts = 0
  let onSecond: (error: Error) => void = () => {}
  const secondAttempt = new Promise<Error>((resolve) => { onSecond = resolve })
  const counting: FinalizeRequestMiddleware<object, object> = (next) => async (args) => {
    if (++attempts < 2) return await next(args)
    return await next(args).catch((error: Error) => { onSecond(error); throw error })
  }
  client.middlewareStack.addRelativeTo(counting as never, { relation: 'after', toMiddleware: 'versoAttemptDeadline', name: 'testAttempts' })
  const started = performance.now()
  const err = await failure(boundedSender(client, Deadline.in(300)).send(getA('any')))
  const ms = performance.now() - started
  t.equal(err.name, 'AbortError')
  t.equal(requests, 1, 'no second attempt')
  t.ok(ms < 3000, `ended at the deadline, well before the 4 s retry wait (${ms.toFixed(0)} ms)`)
  // The SDK's retry loop does not see the deadline: its second attempt, after the wait, must fail unsent.
  t.equal((await secondAttempt).name, 'AbortError', 'the retry made after the wait failed in the transport')
  t.equal(requests, 1, 'and was never sent')
})

t.test('concurrent calls each keep their own deadline', async (t) => {
  const client = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { client.destroy() })
  const table = await withTable(client)
  // Twice: the first round resolves the GetItem stack, the second runs on the cached one.
  for (const round of ['first round', 'cached stack']) {
    const deadlines = Array.from({ length: 30 }, () => Deadline.in(60_000))
    const calls = deadlines.map(async (deadline, i) => {
      if (i % 3 === 2) return await client.send(getA(table)) // no deadline at all
      return await boundedSender(client, deadline).send(getA(table))
    })
    // Abort every third call's deadline while all of them are in flight.
    deadlines.forEach((deadline, i) => { if (i % 3 === 0) deadline.expire() })
    const outcomes = await Promise.allSettled(calls)
    const aborted = outcomes.filter((o, i) => i % 3 === 0 && o.status === 'rejected' && (o.reason as Error).name === 'AbortError').length
    const served = outcomes.filter((o, i) => i % 3 !== 0 && o.status === 'fulfilled' && o.value.Item?.name?.S === 'Ada').length
    t.equal(aborted, 10, `${round}: every call whose deadline fired was aborted`)
    t.equal(served, 20, `${round}: no other call saw that deadline`)
  }

  // Two calls in flight on a stalled endpoint: the one whose deadline passes fails, the other keeps waiting.
  const server = await stalling()
  const stalled = createDynamoClient({ endpoint: server.url })
  t.teardown(async () => { stalled.destroy(); await server.close() })
  const longer = Deadline.in(60_000)
  let longerSettled = false
  const slow = failure(boundedSender(stalled, longer).send(getA('any'))).finally(() => { longerSettled = true })
  t.equal((await failure(boundedSender(stalled, Deadline.in(200)).send(getA('any')))).name, 'AbortError')
  t.notOk(longerSettled, 'the other call is still running')
  longer.expire()
  t.equal((await slow).name, 'AbortError', 'until its own deadline fires')
})

t.test('the middleware stack is resolved once per command, and middleware added later sees every call', async (t) => {
  const client = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { client.destroy() })
  const table = await withTable(client)
  let resolved = 0
  client.middlewareStack.add((next, context) => {
    if (context.commandName === 'GetItemCommand') resolved++
    return next
  }, { step: 'initialize', name: 'testResolutions' })
  for (let i = 0; i < 5; i++) await boundedSender(client, Deadline.in(30_000)).send(getA(table))
  await Promise.all(Array.from({ length: 5 }, async () => await client.send(getA(table))))
  t.equal(resolved, 1, 'ten GetItems, with and without a deadline, on one resolved stack')

  const seen: ObservedCall[] = []
  const stop = observeCalls(client, (call) => seen.push(call))
  for (let i = 0; i < 3; i++) await boundedSender(client, Deadline.in(30_000)).send(getA(table))
  t.equal(seen.filter((c) => c.command === 'GetItemCommand').length, 3, 'an observer added after GetItem was cached sees each call')
  t.equal(resolved, 2, 'the stack was resolved again, once')
  stop()
  await client.send(getA(table))
  t.equal(seen.length, 3, 'and none once it stopped')
})

t.test('destroy() closes the pooled connections', async (t) => {
  const server = await forwarding()
  const client = createDynamoClient({ endpoint: server.url })
  t.teardown(async () => { await server.close() })
  const direct = createDynamoClient({ endpoint: endpoint() })
  t.teardown(() => { direct.destroy() })
  const table = await withTable(direct)
  await client.send(getA(table))
  t.equal(server.open(), 1, 'one keep-alive connection')
  const closed = new Promise<void>((resolve) => {
    const check = setInterval(() => { if (server.open() === 0) { clearInterval(check); resolve() } }, 20)
  })
  client.destroy()
  await closed
  t.equal(server.open(), 0, 'closed by destroy()')
  t.ok(await failure(client.send(getA(table))), 'a destroyed client makes no more calls')
})

t.test('the User-Agent headers are the SDK\'s own, computed once per command and sent on every call', async (t) => {
  const seen: Array<{ target: string, ua: string, amz: string, trace: string | undefined }> = []
  const server = await httpEndpoint((req, res) => {
    req.resume()
    seen.push({ target: String(req.headers['x-amz-target']), ua: String(req.headers['user-agent']), amz: String(req.headers['x-amz-user-agent']), trace: req.headers['x-amzn-trace-id'] as string | undefined })
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' })
    res.end('{}')
  })
  const client = createDynamoClient({ endpoint: server.url })
  const stock = new DynamoDBClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'verso', secretAccessKey: 'verso' }, maxAttempts: 3 })
  t.teardown(async () => { client.destroy(); stock.destroy(); await server.close() })

  await stock.send(getA('t'))
  const expected = seen.pop()!
  for (let i = 0; i < 3; i++) await client.send(getA('t'))
  await boundedSender(client, Deadline.in(30_000)).send(getA('t'))
  await client.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'b' } } }))
  t.equal(seen.length, 5)
  t.match(expected.ua, /^aws-sdk-js\/\S+ .*api\/dynamodb/, 'the stock client\'s User-Agent, as a reference')
  for (const call of seen) {
    t.equal(call.ua, expected.ua, `${call.target}: User-Agent as the stock client sends it`)
    t.equal(call.amz, expected.amz, `${call.target}: X-Amz-User-Agent as well`)
    t.equal(call.trace, undefined, 'no Lambda trace header outside Lambda')
  }
})

interface Captured { headers: Record<string, string>, path: string, body: string }

/** A request's X-Amz-Date (`20261203T141500Z`) as a Date. */
function amzDate (request: Captured): Date {
  const d = request.headers['x-amz-date'] ?? ''
  return new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`)
}

/** Checks a captured request's SigV4 signature by signing it again with the SDK's SignatureV4, at its own X-Amz-Date. */
async function signatureOf (request: Captured, sha256: ConstructorParameters<typeof SignatureV4>[0]['sha256']): Promise<{ sent: string, expected: string }> {
  const authorization = request.headers.authorization ?? ''
  const [, scope = '', signedHeaders = ''] = /Credential=verso\/(\S+?),\s*SignedHeaders=(\S+?),/.exec(authorization) ?? []
  const [, region, service] = scope.split('/')
  const signed = Object.fromEntries(signedHeaders.split(';').map((name) => [name, request.headers[name] ?? '']))
  const signingDate = amzDate(request)
  const signer = new SignatureV4({ credentials: { accessKeyId: 'verso', secretAccessKey: 'verso' }, region: region ?? '', service: service ?? '', sha256 })
  const again = await signer.sign({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path: request.path, query: {}, headers: signed, body: request.body }, { signingDate })
  return { sent: authorization, expected: String(again.headers.authorization) }
}

t.test('every call is signed as SigV4 requires, and a clock-skew answer still corrects the signing time', async (t) => {
  const seen: Captured[] = []
  // The first request of the skew phase is refused as a signature too far from the server's clock (an hour ahead).
  let skewed = false
  const server = await httpEndpoint((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += chunk.toString() })
    req.on('end', () => {
      seen.push({ headers: req.headers as Record<string, string>, path: req.url ?? '/', body })
      if (skewed) {
        skewed = false
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', date: new Date(Date.now() + 3600_000).toUTCString() })
        res.end(JSON.stringify({ __type: 'com.amazon.coral.service#InvalidSignatureException', message: 'Signature expired' }))
        return
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' })
      res.end('{}')
    })
  })
  const client = createDynamoClient({ endpoint: server.url })
  const stock = new DynamoDBClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'verso', secretAccessKey: 'verso' } })
  t.teardown(async () => { client.destroy(); stock.destroy(); await server.close() })
  const sha256 = stock.config.sha256

  await stock.send(getA('t'))
  const reference = await signatureOf(seen.pop()!, sha256)
  t.equal(reference.sent, reference.expected, 'the check accepts the stock client\'s signature')

  for (let i = 0; i < 3; i++) await client.send(getA(`t${i}`))
  await boundedSender(client, Deadline.in(30_000)).send(getA('t'))
  await client.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'b' } } }))
  t.equal(seen.length, 5, 'five calls arrived')
  for (const request of seen) {
    const { sent, expected } = await signatureOf(request, sha256)
    t.equal(sent, expected, `${String(request.headers['x-amz-target'])}: signed for this request, region and service`)
  }

  seen.length = 0
  skewed = true
  await client.send(getA('t'))
  t.equal(seen.length, 2, 'the refused call was retried once')
  const retried = seen[1]!
  t.ok(Math.abs(amzDate(retried).getTime() - (Date.now() + 3600_000)) < 60_000, `the retry is signed at the server's time (${String(retried.headers['x-amz-date'])})`)
  const { sent, expected } = await signatureOf(retried, sha256)
  t.equal(sent, expected, 'and its signature is valid for that time')
})

t.test('an input sent again under another deadline is bound by that one too, and leaves no waiter behind', async (t) => {
  const client = createDynamoClient({ endpoint: endpoint() })
  const server = await stalling()
  const stalled = createDynamoClient({ endpoint: server.url })
  t.teardown(async () => { client.destroy(); stalled.destroy(); await server.close() })
  const table = await withTable(client)
  /** A deadline whose waiting calls are counted. */
  const counted = (ms: number): Deadline & { waiting: number } => {
    const deadline = Object.assign(Deadline.in(ms), { waiting: 0 })
    const whenExpired = deadline.whenExpired.bind(deadline)
    deadline.whenExpired = (listener) => {
      deadline.waiting++
      const stop = whenExpired(listener)
      return () => { deadline.waiting--; stop() }
    }
    return deadline
  }
  const command = getA(table)
  await boundedSender(client, Deadline.in(30_000)).send(command)

  const started = performance.now()
  t.equal((await failure(boundedSender(stalled, Deadline.in(200)).send(command))).name, 'AbortError', 'the second deadline ends the call')
  t.ok(performance.now() - started < 2000, 'at that deadline, not at the transport\'s request timeout')

  const long = counted(30_000)
  const { Item } = await boundedSender(client, long).send(command)
  t.same(Item?.name, { S: 'Ada' }, 'the same input, sent a third time, goes through')
  t.equal(long.waiting, 0, 'and leaves no waiter (no timer armed until the deadline)')
})
