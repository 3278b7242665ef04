import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import { rateLimited } from '../../errors.js'
import { ZERO_ID } from '../../models/entity.js'
import { isOpenPath } from '../../open-paths.js'

/** The authenticated caller's id, else the client address (anonymous callers share a budget per address). */
export const rateLimitKey = (request: FastifyRequest): string =>
  request.callerId !== ZERO_ID ? `caller:${request.callerId}` : `ip:${request.ip}`

/**
 * At most `max` requests per caller per window, counted in this process (each replica counts its own
 * callers: the budget across N replicas is up to N × max). The limit is checked in a route-level
 * onRequest hook, which fastify runs after every instance-level onRequest hook, authentication
 * included, so request.callerId is known; a refused request is never parsed.
 */
export default fp<{ max: number, windowMs: number }>(async (app, { max, windowMs }) => {
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max,
    timeWindow: windowMs,
    keyGenerator: rateLimitKey,
    // The open paths, which a load balancer or a browser reading the docs calls often, are never limited.
    allowList: (request) => isOpenPath(request.routeOptions.url),
    // IETF RateLimit header fields (RateLimit-Limit, -Remaining, -Reset) and Retry-After on a 429.
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) => rateLimited(context.max, Math.max(1, Math.ceil(context.ttl / 1000)))
  })
}, { name: 'rate-limit' })
