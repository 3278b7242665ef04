import type { Socket } from 'node:net'

/** How long a closing connection keeps reading (and dropping) what the client still sends. */
export const LINGER_MS = 2000

/**
 * Lingering close (RFC 9112 §9.6), for every connection: its last answer may go out before the request body
 * was read (a 413 for an oversized body, a 417, a GET that ignores its body). Node closes such a connection as
 * soon as the answer is written; the client is usually still sending, and data arriving at a closed socket makes
 * the kernel answer with a reset, which on the client's side discards the answer it has not read yet. Measured
 * on loopback before this: 21 of 40 clients sending 10 MB bodies got "connection reset" instead of their 413.
 *
 * Here the socket half-closes instead (FIN after the answer) and keeps reading for up to LINGER_MS once the
 * answer is written, so the client can read it; Node goes on parsing what arrives and drops the rest of the
 * body. The socket is destroyed when the client closes its side too, or at LINGER_MS, whichever comes first.
 * Like nginx's `lingering_close`, the time is bounded so a client cannot hold the connection by sending forever.
 *
 * A request that Node parses meanwhile (pipelined behind the refused one on a keep-alive connection) is not
 * served: the RFC's "MUST NOT process any further requests". The first onRequest hook (src/plugins/app/lingering-close.ts)
 * sees its socket already ended by us and destroys it, before anything reads a body or calls DynamoDB.
 *
 * A 'connection' listener of the HTTP server.
 */
export function lingerOnClose (socket: Socket): void {
  // Node's HTTP server calls destroySoon() once the last answer on a `Connection: close` socket is written.
  ;(socket as Socket & { destroySoon: () => void }).destroySoon = function lingeringDestroySoon (this: Socket): void {
    this.end()
    const linger = (): void => {
      if (this.readableEnded) {
        this.destroy()
        return
      }
      const timer = setTimeout(() => { this.destroy() }, LINGER_MS)
      timer.unref()
      this.once('close', () => { clearTimeout(timer) })
      this.once('end', () => { this.destroy() })
    }
    // As Node's own destroySoon: nothing is destroyed before the answer is all written.
    if (this.writableFinished) linger()
    else this.once('finish', linger)
  }
}
