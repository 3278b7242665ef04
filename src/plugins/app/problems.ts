import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { internalError, routeNotFound, VersoError } from '../../errors.js'
import { expectationHandler, fromFastifyError, sendProblem } from '../../http/problem.js'
import { Problem } from '../../http/schemas.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Media types the route's body may have; named in 415 problems (and Accept-Patch on a PATCH). */
    acceptedTypes?: string[]
  }
}

/**
 * The one error handler: every failure leaves as RFC 9457 problem+json. Client errors say what is wrong;
 * anything unexpected is logged with its stack and answered with a bare 500 that names the request id.
 * Unknown routes and an `Expect` other than 100-continue are problems too.
 */
export default fp<{ bodyLimit: number }>(async (app, { bodyLimit }) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    let problem = err instanceof VersoError ? err : fromFastifyError(err, request, bodyLimit)
    if (problem === undefined) {
      request.log.error({ err }, 'unhandled error')
      problem = internalError()
    } else if (problem.statusCode >= 500) {
      request.log.warn({ err }, problem.title)
    }
    return sendProblem(reply, problem)
  })
  app.setNotFoundHandler((request, reply) => sendProblem(reply, routeNotFound(request.method, request.url)))
  app.server.on('checkExpectation', expectationHandler)
  app.addSchema(Problem)
}, { name: 'problems' })
