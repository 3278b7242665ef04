/**
 * `npm run tables`: creates the missing main, audit and outbox tables for every model, as CREATE_TABLES does
 * at start, and says which were created and which were there. Same configuration as the service.
 */
import { ConfigError, loadConfig } from '../config/config.js'
import { loadModels } from '../models/load-models.js'
import { connectStorage } from '../storage/connect.js'
import { ensureTables } from '../storage/table-setup.js'

try {
  // Creating tables publishes nothing: the relay's settings do not matter here.
  const config = loadConfig({ ...process.env, RELAY_ENABLED: 'false' })
  if (config.embedded && config.DATA_DIR === undefined) {
    process.stderr.write('verso tables: nothing is configured, so this would create tables in a throwaway in-memory DynamoDB Local. Set DYNAMODB_ENDPOINT, AWS configuration or DATA_DIR.\n')
    process.exit(2)
  }
  const models = loadModels(config.MODELS_DIR)
  const storage = await connectStorage(config)
  try {
    const result = await ensureTables(storage.client, config.TABLE_PREFIX, models)
    process.stdout.write(`DynamoDB: ${storage.target}\ncreated: ${result.created.join(', ') || '(none)'}\nalready there: ${result.existing.join(', ') || '(none)'}\n`)
  } finally {
    await storage.close()
  }
} catch (err) {
  process.stderr.write(`verso tables: ${err instanceof ConfigError ? err.message : `failed: ${err instanceof Error ? err.message : String(err)}`}\n`)
  process.exit(1)
}
