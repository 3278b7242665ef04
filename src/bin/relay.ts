/**
 * `npm run relay`: the outbox relay as its own process, for operators who scale it apart from the API
 * (set RELAY_ENABLED=false on the API then). Any number may run: they share the shards through leases.
 *   npm run relay                    run until SIGTERM/SIGINT (Prometheus metrics on METRICS_PORT when set)
 *   npm run relay -- dead            list the dead letters (events a publisher refused for good)
 *   npm run relay -- redrive <id>    put a dead letter back into the outbox (--all: every one)
 */
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { ConfigError, loadConfig } from '../config/config.js'
import { loadModels } from '../models/load-models.js'
import { createRelay } from '../outbox/relay-from-config.js'
import { listDeadLetters, redrive } from '../outbox/dead-letters.js'
import { connectStorage } from '../storage/connect.js'
import { ensureTables } from '../storage/table-setup.js'
import { Metrics } from '../metrics/metrics.js'
import { serveMetrics, type MetricsServer } from '../metrics/listener.js'

const [command = 'run', ...args] = process.argv.slice(2)

try {
  const config = loadConfig()
  if (config.embedded) throw new ConfigError('DYNAMODB_ENDPOINT', 'must be set (or AWS configuration): a separate relay needs the DynamoDB the API uses; in the embedded mode the relay runs inside the service')
  const models = loadModels(config.MODELS_DIR)
  const log = pino({ level: config.LOG_LEVEL, base: { component: 'relay' } })
  const storage = await connectStorage(config)
  if (config.CREATE_TABLES) await ensureTables(storage.client, config.TABLE_PREFIX, models)
  if (command === 'run') {
    const relay = await createRelay(config, storage.client, log)
    let metricsServer: MetricsServer | undefined
    closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
      if (err !== undefined) log.error({ err }, 'relay is stopping after an error')
      else log.info({ signal }, 'relay is stopping')
      await relay.stop()
      await metricsServer?.close()
      await storage.close()
    })
    relay.start()
    if (config.METRICS_PORT !== undefined) {
      const metrics = new Metrics()
      metrics.instrument(storage.client)
      metrics.observeRelay(relay)
      metricsServer = await serveMetrics(metrics, config.METRICS_HOST, config.METRICS_PORT)
      log.info({ metrics: `${metricsServer.address}/metrics` }, `Prometheus metrics at ${metricsServer.address}/metrics`)
    }
  } else if (command === 'dead') {
    process.stdout.write(JSON.stringify(await listDeadLetters(storage.client, config.TABLE_PREFIX), null, 2) + '\n')
    await storage.close()
  } else if (command === 'redrive') {
    const ids = args[0] === '--all' ? (await listDeadLetters(storage.client, config.TABLE_PREFIX)).map((d) => d.event_id) : args
    if (ids.length === 0) throw new Error('redrive needs an event id or --all')
    for (const id of ids) process.stdout.write(`${id}: ${(await redrive(storage.client, config.TABLE_PREFIX, id)) ? 'back in the outbox' : 'no such dead letter'}\n`)
    await storage.close()
  } else {
    throw new Error(`unknown command "${command}": use run, dead or redrive`)
  }
} catch (err) {
  process.stderr.write(`verso relay: ${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}
