/**
 * Extra acceptors (src/http/acceptors.ts): a server whose event loop is busy takes in one new connection per turn
 * of the loop by itself (libuv ≥ 1.45); with N copies of the listening handle it takes in 1 + N.
 */
import t from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { addAcceptors } from '../../src/http/acceptors.js'
import { acceptQueueLength } from '../../src/metrics/accept-queue.js'

const WAITING = 40

/** Opens WAITING connections while this process is blocked, then counts how many one turn of the loop accepts. */
async function acceptedInOneTurn (acceptors: number): Promise<{ copies: number, accepted: number, answered: boolean }> {
  const server = createServer((request, response) => { response.end('ok') })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  const copies = await addAcceptors(server, acceptors, 511)
  let accepted = 0
  server.on('connection', () => { accepted++ })
  const client = spawn(process.execPath, ['-e', `
    const net = require('node:net'); let answered = 0
    for (let i = 0; i < ${WAITING}; i++) {
      const s = net.connect(${port}, '127.0.0.1', () => s.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'))
      s.on('data', () => { if (++answered === ${WAITING}) process.exit(0) })
    }
    setTimeout(() => process.exit(1), 60000)`], { stdio: 'ignore' })
  // Blocked until the kernel holds them all: none is accepted before the turn that is counted.
  const stop = Date.now() + 30_000
  while ((acceptQueueLength(port) ?? 0) < WAITING && Date.now() < stop) { /* busy on purpose */ }
  // From one check phase to the next: exactly one poll phase, where the accepting happens.
  const turn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }
  await turn()
  const before = accepted
  await turn()
  const inOneTurn = accepted - before
  const [code] = await once(client, 'exit') as [number | null]
  for (const copy of copies) copy.close()
  server.close()
  return { copies: copies.length, accepted: inOneTurn, answered: code === 0 }
}

t.test('a busy loop accepts one connection a turn, and one more per acceptor', { skip: acceptQueueLength(1) === undefined ? 'needs /proc/net/tcp (Linux)' : false }, async (t) => {
  const alone = await acceptedInOneTurn(0)
  t.equal(alone.accepted, 1, 'alone: one per turn')
  t.ok(alone.answered, 'every connection is answered in the end')
  const helped = await acceptedInOneTurn(8)
  t.equal(helped.copies, 8, '8 copies of the listening handle')
  t.equal(helped.accepted, 9, 'with 8 acceptors: nine in one turn')
  t.ok(helped.answered, 'every connection is answered, whichever handle accepted it')
})

/** The backlog of a listening socket on a loopback port, as `ss -ltn` shows it (Send-Q); undefined without ss. */
function backlogOf (port: number): number | undefined {
  try {
    const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim()
    return Number(line.split(/\s+/)[2])
  } catch {
    return undefined
  }
}

t.test('the acceptors keep the backlog the server listens with', { skip: backlogOf(1) === undefined ? 'needs ss (iproute2)' : false }, async (t) => {
  const server = createServer((request, response) => { response.end('ok') })
  server.listen({ port: 0, host: '127.0.0.1', backlog: 64 })
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  t.teardown(() => { server.close() })
  t.equal(backlogOf(port), 64, 'the server alone')
  const copies = await addAcceptors(server, 4, 64)
  t.teardown(() => { for (const copy of copies) copy.close() })
  t.equal(copies.length, 4)
  t.equal(backlogOf(port), 64, 'still 64 with 4 acceptors (without the backlog each copy listens with 511)')
})
