import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { routeNotFound } from '../errors.js'
import { endWithProblem } from './problem.js'

/**
 * CONNECT asks for a tunnel, which verso is not. Node hands it to a 'connect' listener and, without one, destroys
 * the socket: the client is left with a closed connection and no answer. Here it gets the 404 problem any other
 * unknown route gets, and the connection closes after it.
 */
export function answerConnect (server: Server): void {
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => {})
    endWithProblem(socket, routeNotFound('CONNECT', request.url ?? ''), String(request.url ?? '/').slice(0, 200))
  })
}
