import { readFileSync } from 'node:fs'

const LISTEN = '0A'

/**
 * Connections the kernel has completed for a listening port that the process has not accepted yet, read from
 * /proc/net/tcp and /proc/net/tcp6 (Linux; for a listening socket the `rx_queue` column is its accept queue).
 * Undefined where those files cannot be read.
 *
 * Since libuv 1.45 (Node.js 20.3) a server accepts one connection per turn of its event loop, so a saturated
 * verso lets new connections wait here, already acknowledged to the client, for seconds (docs/guarantees.md, "Overload: what operators should expect").
 */
export function acceptQueueLength (port: number): number | undefined {
  const localPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`
  let found = false
  let waiting = 0
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(file, 'latin1')
    } catch {
      continue
    }
    found = true
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue …
      const [, local = '', , state, queues = ''] = line.trim().split(/\s+/)
      if (state === LISTEN && local.endsWith(localPort)) waiting += Number.parseInt(queues.split(':')[1] ?? '0', 16)
    }
  }
  return found ? waiting : undefined
}
