import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { acceptQueueLength } from '../metrics/accept-queue.js'

/**
 * What a stop must let in before it closes the API socket, or clients that sent a request learn nothing of it:
 * - the connections in the kernel's accept queue: closing the listening socket resets them;
 * - connections accepted whose first request has not been read yet: Node counts them idle, and closing the
 *   server destroys idle connections.
 * `track` watches the second kind from the start; `settle` waits (at most `maxMs`) until the accept queue is
 * empty and every connection accepted has carried a request or closed. A client that connects and sends nothing
 * is closed once `maxMs` has passed, as any idle connection.
 */
export class Drain {
  private readonly unused = new Set<Socket>()

  constructor (private readonly server: Server, private readonly port: number) {
    server.on('connection', (socket: Socket) => {
      this.unused.add(socket)
      socket.once('close', () => { this.unused.delete(socket) })
    })
    // Only 'request': a listener for 'checkContinue' would take 100-continue requests from Node's own handling.
    server.on('request', (request: { socket: Socket }) => { this.unused.delete(request.socket) })
  }

  async settle (maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs
    // The accept queue is Linux's (/proc/net/tcp); elsewhere it reads as empty.
    while (((acceptQueueLength(this.port) ?? 0) > 0 || this.unused.size > 0) && Date.now() < deadline) await sleep(10)
  }
}
