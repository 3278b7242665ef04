import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import { overloaded } from '../../errors.js'
import { NEVER_SHED_PATH } from '../../open-paths.js'

/** How long an overloaded replica asks callers to wait: long enough for a lagging event loop to drain. */
const RETRY_AFTER_S = 5

/**
 * Sheds load with a 503 problem (VERSO_OVERLOADED, Retry-After) while the event loop lags or is busier
 * than configured. Liveness stays up (a busy replica is not a dead one; restarting it would not help),
 * readiness answers 503 so a load balancer sends the traffic elsewhere. No status route of its own:
 * /health/live and /health/ready are the health routes.
 */
export default fp<{ maxEventLoopDelayMs: number, maxEventLoopUtilization: number }>(async (app, options) => {
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    maxEventLoopUtilization: options.maxEventLoopUtilization,
    exposeStatusRoute: false,
    pressureHandler: async (request) => {
      if (request.routeOptions.url === NEVER_SHED_PATH) return
      throw overloaded(RETRY_AFTER_S)
    }
  })
}, { name: 'under-pressure' })
