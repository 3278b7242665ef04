import { randomBytes } from 'node:crypto'
import { createServer, connect as tcpConnect, type Socket } from 'node:net'
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { Person as person } from '../../src/models/person.js'
import { createDynamoClient } from '../../src/storage/client.js'
import { modelTables } from '../../src/storage/table-names.js'
import { ensureTables } from '../../src/storage/table-setup.js'
import { endpoint } from '../support/helper.js'

/**
 * A TCP proxy in front of DynamoDB Local that can stall: while stalled it holds every byte in both
 * directions, as a DynamoDB behind a dead network path would look to verso. When the path comes back, the
 * connections held meanwhile are dropped with the bytes they held (nothing sent during the stall arrives).
 */
async function stallingProxy (target: URL): Promise<{ url: string, stall: () => void, resume: () => void, close: () => Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>()
  let stalled = false
  const hold = ([client, upstream]: [Socket, Socket]): void => {
    client.unpipe(upstream)
    upstream.unpipe(client)
    client.pause()
    upstream.pause()
  }
  const server = createServer((client) => {
    const pair: [Socket, Socket] = [client, tcpConnect(Number(target.port), target.hostname)]
    const [, upstream] = pair
    pairs.add(pair)
    for (const s of pair) {
      s.on('close', () => { pairs.delete(pair); client.destroy(); upstream.destroy() })
      s.on('error', () => { client.destroy(); upstream.destroy() })
    }
    if (stalled) hold(pair)
    else client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    stall: () => { stalled = true; for (const pair of pairs) hold(pair) },
    resume: () => { stalled = false; for (const [client] of pairs) client.destroy() },
    close: async () => {
      for (const [client] of pairs) client.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

t.test('DynamoDB stalls: each request is answered 503 VERSO_STORAGE_TIMEOUT at STORAGE_TIMEOUT_MS, nothing half-written', async (t) => {
  const direct = createDynamoClient({ endpoint: endpoint() })
  const prefix = `t${randomBytes(4).toString('hex')}_`
  await ensureTables(direct, prefix, [person])
  const proxy = await stallingProxy(new URL(endpoint()))
  const client = createDynamoClient({ endpoint: proxy.url })
  const timeoutMs = 800
  const app = await buildApp({
    config: { TABLE_PREFIX: prefix, OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1 << 20, REQUEST_TIMEOUT_MS: 30000, STORAGE_TIMEOUT_MS: timeoutMs },
    dynamo: client,
    models: [person]
  })
  t.teardown(async () => {
    proxy.resume()
    await app.close()
    client.destroy()
    direct.destroy()
    await proxy.close()
  })

  const created = await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace' } })
  t.equal(created.statusCode, 201, 'writes go through the proxy while it forwards')
  const { entity_id: id, version } = JSON.parse(created.body)

  proxy.stall()
  const requests = [
    { method: 'GET' as const, url: `/person/${id as string}` },
    { method: 'GET' as const, url: '/person' },
    { method: 'GET' as const, url: `/person/${id as string}/versions` },
    { method: 'POST' as const, url: '/person', payload: { first_name: 'Grace', last_name: 'Hopper' } },
    { method: 'PUT' as const, url: `/person/${id as string}`, headers: { 'if-match': `"${version as string}"` }, payload: { first_name: 'Ada', last_name: 'King' } },
    { method: 'POST' as const, url: '/_transactions', payload: { operations: [{ op: 'create', model: 'person', body: { first_name: 'Alan', last_name: 'Turing' } }] } }
  ]
  const answers = await Promise.all(requests.map(async (request) => {
    const started = performance.now()
    const res = await app.inject(request)
    return { request, res, ms: performance.now() - started }
  }))
  for (const { request, res, ms } of answers) {
    const label = `${request.method} ${request.url}`
    t.equal(res.statusCode, 503, label)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', label)
    t.equal(res.headers['retry-after'], '1', label)
    t.equal(JSON.parse(res.body).code, 'VERSO_STORAGE_TIMEOUT', label)
    t.notMatch(res.body, /AbortError|aborted|127\.0\.0\.1|at .*\.js/, `${label}: no internal detail`)
    // The SDK alone would wait 5 s per attempt, 3 attempts: an answer well before the first attempt's 5 s
    // shows it is the deadline that answered.
    t.ok(ms < 4000, `${label} answered at the deadline, not at the SDK's timeouts (${ms.toFixed(0)} ms)`)
  }

  proxy.resume()
  t.equal((await app.inject({ method: 'GET', url: `/person/${id as string}` })).statusCode, 200, 'serves again once DynamoDB answers')
  // The stalled writes never reached DynamoDB (the proxy held their bytes): none of them may show, in part or whole.
  const { Item } = await direct.send(new GetItemCommand({ TableName: modelTables(prefix, person).main, Key: { entity_id: { S: id } }, ConsistentRead: true }))
  t.equal(Item?.version?.S, version, 'the entity is still at the version it had')
  const audit = await direct.send(new QueryCommand({ TableName: modelTables(prefix, person).audit, KeyConditionExpression: 'entity_id = :id', ExpressionAttributeValues: { ':id': { S: id } }, ConsistentRead: true }))
  t.equal(audit.Count, 0, 'no audit item for an update that did not commit')
})
