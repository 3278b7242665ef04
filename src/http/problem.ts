import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import {
  badRequest, bodyTooLarge, expectationFailed, headersTooLarge, malformedHttp, requestTimeout, unsupportedMediaType, VersoError
} from '../errors.js'
import { validationError } from './validation.js'

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** Fastify's own errors that are the client's doing, mapped to verso problems. */
export function fromFastifyError (err: FastifyError, request: FastifyRequest, bodyLimit: number): VersoError | undefined {
  if (err.validation !== undefined) return validationError(err.validation, err.validationContext ?? 'request')
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return bodyTooLarge(bodyLimit)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return unsupportedMediaType(request.headers['content-type'], acceptedTypes(request))
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': return badRequest('Content-Length does not match the body.')
    case 'FST_ERR_CTP_INVALID_TYPE': return badRequest('The Content-Type header is not valid.')
    case 'FST_ERR_BAD_URL': return badRequest('The URL is not valid (bad percent-encoding).')
    case 'FST_ERR_MAX_PARAM_LENGTH': return badRequest('A path parameter is longer than any valid value.')
    case 'FST_ERR_ASYNC_CONSTRAINT': return badRequest('The request does not match any route constraint.')
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new VersoError('VERSO_BAD_REQUEST', err.statusCode, 'Bad request', 'The request could not be processed.')
  }
  return undefined
}

/** The media types a route's body may have (its `acceptedTypes` config, src/plugins/app/problems.ts). */
export function acceptedTypes (request: FastifyRequest): string[] {
  return request.routeOptions.config.acceptedTypes ?? ['application/json']
}

/** The problem+json body of a problem (also one line's answer in a bulk import). */
export function problemBody (problem: VersoError, instance: string, requestId: string | undefined): Record<string, unknown> {
  return {
    type: problem.type,
    title: problem.title,
    status: problem.statusCode,
    detail: problem.message,
    instance,
    code: problem.code,
    ...(requestId === undefined ? {} : { request_id: requestId }),
    ...problem.extra,
    ...(problem.errors === undefined ? {} : { errors: problem.errors })
  }
}

/**
 * Requests Node's HTTP parser refuses before fastify sees them (not HTTP, headers too large, too slow):
 * answered with a problem on the raw socket, then the connection is closed.
 */
export function clientErrorHandler (err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  endWithProblem(socket, err.code === 'HPE_HEADER_OVERFLOW' ? headersTooLarge() : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? requestTimeout() : malformedHttp(), '/')
}

/** Writes `problem` as a whole HTTP answer on a socket Node's server no longer handles, and closes it. */
export function endWithProblem (socket: Duplex, problem: VersoError, instance: string): void {
  const body = JSON.stringify(problemBody(problem, instance, undefined))
  socket.end(`HTTP/1.1 ${problem.statusCode} ${STATUS_CODES[problem.statusCode] ?? ''}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

/** Answers `problem` on Node's own response, before fastify sees the request (no request id yet). */
export function respondWithProblem (request: IncomingMessage, response: ServerResponse, problem: VersoError, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(problemBody(problem, request.url?.split('?')[0]?.slice(0, 200) ?? '/', undefined))
  response.writeHead(problem.statusCode, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), ...headers })
  response.end(body)
}

/**
 * An `Expect` other than 100-continue, which Node would answer with a bare 417 before fastify sees the request.
 * The body is never read: the connection closes after the answer.
 */
export function expectationHandler (request: IncomingMessage, response: ServerResponse): void {
  respondWithProblem(request, response, expectationFailed(), { connection: 'close' })
}

/** Answers `problem` as problem+json naming the request, with Retry-After on a 503 (and Accept-Patch on a PATCH's 415). */
export function sendProblem (reply: FastifyReply, problem: VersoError): FastifyReply {
  const { request } = reply
  reply.header('x-request-id', request.id)
  const retryAfterS = problem.extra.retry_after_s
  if (typeof retryAfterS === 'number') reply.header('retry-after', String(retryAfterS))
  else if (problem.statusCode === 503) reply.header('retry-after', '1')
  if (problem.statusCode === 415 && request.method === 'PATCH') reply.header('accept-patch', acceptedTypes(request).join(', '))
  return reply.code(problem.statusCode).type(PROBLEM_CONTENT_TYPE).send(problemBody(problem, request.url.split('?')[0] ?? request.url, String(request.id)))
}

/** Fastify's handler for errors raised before a route is found (bad URL, over-long parameter). */
export const frameworkErrors: FastifyServerOptions['frameworkErrors'] = (err, request, reply) => {
  sendProblem(reply, fromFastifyError(err, request, 0) ?? badRequest('The request could not be processed.'))
}
