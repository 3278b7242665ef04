/**
 * `npm start`. Only light modules are imported statically: with nothing configured verso runs its own DynamoDB
 * Local, a JVM that needs a second and a half to open its port, and it is spawned before the rest of verso
 * (about a second of modules: configuration schema, AWS SDK, fastify) loads, so the two overlap.
 */
import type { AddressInfo, Server } from 'node:net'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { Config } from '../config/config.js'
import { embeddedMode } from '../config/embedded.js'
import { startEmbedded } from '../embedded/start.js'
import type { Drain } from '../http/drain.js'
import type { Model } from '../models/define.js'
import type { MetricsServer } from '../metrics/listener.js'
import type { OutboxRelay } from '../outbox/relay.js'
import type { Storage } from '../storage/connect.js'

/** pino JSON logs; pretty only on a terminal and only where pino-pretty is installed (not in the image). */
function loggerOptions (config: Config): FastifyServerOptions['logger'] {
  const pretty = process.stdout.isTTY && canResolve('pino-pretty')
  return {
    level: config.LOG_LEVEL,
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
  }
}

function canResolve (specifier: string): boolean {
  try {
    import.meta.resolve(specifier)
    return true
  } catch {
    return false
  }
}

async function main (): Promise<void> {
  const embedded = embeddedMode(process.env)
  const early = embedded === undefined ? undefined : startEmbedded(embedded.dataDir)
  early?.catch(() => {}) // awaited by connectStorage; a bad configuration exits first (the JVM's watchdog then stops it)
  const [{ ConfigError, loadConfig }, { loadModels }] = await Promise.all([import('../config/config.js'), import('../models/load-models.js')])
  let config: Config
  let models: readonly Model[]
  try {
    config = loadConfig()
    // Model files are part of the configuration: a bad one stops the start with one line (ModelFileError is a ConfigError).
    models = loadModels(config.MODELS_DIR)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`verso: ${err.message}\n`)
    process.exit(1)
  }
  // Registered first, so that a signal during start-up also stops cleanly (and stops DynamoDB Local).
  const { default: closeWithGrace } = await import('close-with-grace')
  const running: { storage?: Storage, app?: FastifyInstance, relay?: OutboxRelay, metrics?: MetricsServer, acceptors?: Promise<Server[]>, drain?: Drain } = {}
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    const log = running.app?.log
    if (err !== undefined) log?.error({ err }, 'verso is stopping after an error')
    else log?.info({ signal }, 'verso is stopping: draining in-flight requests')
    // Requests already sent on connections verso has not read (or not accepted) yet are served, not dropped.
    await running.drain?.settle(DRAIN_MS)
    // The HTTP server's close waits only for connections its own handle accepted: the acceptors' are awaited here.
    // A stop may come while they are still being made: they are closed once they exist.
    const acceptors = await running.acceptors ?? []
    await Promise.all([
      ...acceptors.map(async (acceptor) => await new Promise((resolve) => acceptor.close(resolve))),
      running.app?.close()
    ])
    await running.relay?.stop()
    await running.metrics?.close()
    await running.storage?.close()
  })
  const { connectStorage } = await import('../storage/connect.js')
  const starting = connectStorage(config, early)
  starting.then((storage) => { running.storage = storage }, () => {})
  const [{ buildApp }, { checkTables, ensureTables }, { createRelay }, { serveMetrics }, { Admission, admitRequests }, { addAcceptors }, { answerConnect }, { Drain }] = await Promise.all([
    import('../app.js'), import('../storage/table-setup.js'), import('../outbox/relay-from-config.js'), import('../metrics/listener.js'),
    import('../http/admission.js'), import('../http/acceptors.js'), import('../http/connect-method.js'), import('../http/drain.js')
  ])
  const storage = await starting
  const app = running.app = await buildApp({
    config,
    dynamo: storage.client,
    logger: loggerOptions(config),
    models,
    metrics: config.METRICS_PORT !== undefined,
    onEventCommitted: (shard) => { running.relay?.nudge(shard) }
  })
  answerConnect(app.server)
  if (config.ADMISSION_TARGET_MS > 0) admitRequests(app.server, new Admission(config.ADMISSION_TARGET_MS))
  const log = app.log
  if (storage.embedded !== undefined) {
    log.info({ endpoint: storage.embedded.endpoint, dynamodbPid: storage.embedded.pid, dataDir: storage.embedded.dataDir ?? '(in memory)' }, 'embedded DynamoDB Local started')
  }
  if (!config.embedded && config.CURSOR_SECRET === undefined) log.warn('CURSOR_SECRET is not set: page cursors are signed with a key of this process, so they fail on other replicas and after a restart')
  if (config.AUTH_MODE === 'none') log.warn('AUTH_MODE=none: the API is unauthenticated; every caller is anonymous and may read and write everything')
  else log.info({ authMode: config.AUTH_MODE, scopes: config.AUTH_SCOPES }, `requests are authenticated (AUTH_MODE=${config.AUTH_MODE})`)
  if (config.AUTH_JWKS_URL !== undefined && config.AUTH_JWT_AUDIENCE === undefined) log.warn('AUTH_JWT_AUDIENCE is not set: any token of the JWKS issuer is accepted, also those issued for other services')
  // Routes, schemas and the OpenAPI document compile while the tables are made ready.
  const compiling = app.ready()
  if (config.CREATE_TABLES) {
    const tables = await ensureTables(storage.client, config.TABLE_PREFIX, models)
    log.info(tables, 'tables ready')
  } else {
    const { missing } = await checkTables(storage.client, config.TABLE_PREFIX, models)
    if (missing.length > 0) log.warn({ missing }, 'tables are missing and CREATE_TABLES is off: create them (npm run tables)')
  }
  if (config.RELAY_ENABLED) {
    running.relay = await createRelay(config, storage.client, log.child({ component: 'relay' }))
    running.relay.start()
    app.metrics?.observeRelay(running.relay)
  }
  if (app.metrics !== null && config.METRICS_PORT !== undefined) {
    running.metrics = await serveMetrics(app.metrics, config.METRICS_HOST, config.METRICS_PORT)
    log.info({ metrics: `${running.metrics.address}/metrics` }, `Prometheus metrics at ${running.metrics.address}/metrics`)
  }
  await compiling
  const address = await app.listen({ port: config.PORT, host: config.HOST, backlog: LISTEN_BACKLOG })
  running.drain = new Drain(app.server, (app.server.address() as AddressInfo).port)
  app.metrics?.observeListener(app.server)
  log.info({ api: address, docs: `${address}/docs`, dynamodb: storage.target }, `verso is serving ${address} — Swagger UI at ${address}/docs`)
  // Made after the announcement: the HTTP server already accepts, and the copies take a moment (a child process).
  running.acceptors = addAcceptors(app.server, ACCEPTORS, LISTEN_BACKLOG)
  log.info({ acceptors: (await running.acceptors).length }, 'extra accepting handles on the API socket')
}

/**
 * Handles accepting on the API socket beside the HTTP server's own (src/http/acceptors.ts): each accepts one
 * connection per turn of the event loop, so a saturated verso still takes in this many new connections a turn.
 */
const ACCEPTORS = 64
/**
 * Connections the kernel holds for verso before accepting them. Node's default, 511, filled at the start of the
 * full-scale overload, and past it Linux drops handshake packets: clients retry after 1, 3, 7 s, unanswered
 * meanwhile. The kernel caps it at net.core.somaxconn (docs/overload.md).
 */
const LISTEN_BACKLOG = 4096
/** Longest a stop waits for requests already sent but not read yet (src/http/drain.ts). */
const DRAIN_MS = 2000

main().catch((err: unknown) => {
  process.stderr.write(`verso: failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
