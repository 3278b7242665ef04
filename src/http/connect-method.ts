import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { routeNotFound } from '../errors.js'
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.js'

/**
 * CONNECT asks for a tunnel, which verso is not. Node hands it to a 'connect' listener and, without one, destroys
 * the socket: the client is left with a closed connection and no answer. Here it gets the 404 problem any other
 * unknown route gets, and the connection closes after it.
 */
export function answerConnect (server: Server): void {
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    const problem = routeNotFound('CONNECT', request.url ?? '')
    const body = JSON.stringify(problemBody(problem, String(request.url ?? '/').slice(0, 200), undefined))
    socket.on('error', () => {})
    socket.end(`HTTP/1.1 ${problem.statusCode} ${STATUS_CODES[problem.statusCode] ?? ''}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  })
}
