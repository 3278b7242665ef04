import t from 'tap'
import { thrown } from '../support/thrown.js'
import { ConfigError, loadConfig } from '../../src/config/config.js'

t.test('defaults with nothing configured: embedded mode', async (t) => {
  const config = loadConfig({})
  t.equal(config.embedded, true)
  t.equal(config.PORT, 3000)
  t.equal(config.HOST, '127.0.0.1')
  t.equal(config.LOG_LEVEL, 'info')
  t.equal(config.TABLE_PREFIX, '')
  t.equal(config.CREATE_TABLES, true, 'tables are created in the embedded mode')
  t.equal(config.AUTH_MODE, 'none')
  t.equal(config.OUTBOX_SHARDS, 16)
})

t.test('an endpoint turns the embedded mode off and needs AUTH_MODE', async (t) => {
  t.match(thrown(() => loadConfig({ DYNAMODB_ENDPOINT: 'http://localhost:8000' })), { variable: 'AUTH_MODE' })
  const config = loadConfig({ DYNAMODB_ENDPOINT: 'http://localhost:8000', AUTH_MODE: 'none', PORT: '8080', CREATE_TABLES: 'false', RELAY_ENABLED: 'false' })
  t.equal(config.embedded, false)
  t.equal(config.PORT, 8080)
  t.equal(config.CREATE_TABLES, false)
  t.equal(loadConfig({ AWS_REGION: 'eu-west-1', AUTH_MODE: 'none', OUTBOX_PUBLISHER: 'log' }).embedded, false, 'AWS configuration means real AWS')
  t.equal(loadConfig({ DYNAMODB_ENDPOINT: 'http://localhost:8000', AUTH_MODE: 'none', OUTBOX_PUBLISHER: 'log' }).CREATE_TABLES, false, 'off by default outside the embedded mode')
})

t.test('the relay publisher: log by default when embedded, a choice otherwise, with its settings', async (t) => {
  const endpoint = { DYNAMODB_ENDPOINT: 'http://localhost:8000', AUTH_MODE: 'none' }
  t.equal(loadConfig({}).OUTBOX_PUBLISHER, 'log')
  t.equal(loadConfig({}).RELAY_ENABLED, true)
  t.match(thrown(() => loadConfig(endpoint)), { variable: 'OUTBOX_PUBLISHER' })
  t.equal(loadConfig({ ...endpoint, RELAY_ENABLED: 'false' }).RELAY_ENABLED, false, 'no publisher needed without a relay')
  t.match(thrown(() => loadConfig({ ...endpoint, OUTBOX_PUBLISHER: 'rabbitmq' })), { variable: 'RABBITMQ_URL' })
  t.match(thrown(() => loadConfig({ ...endpoint, OUTBOX_PUBLISHER: 'sqs' })), { variable: 'SQS_QUEUE_URL' })
  t.match(thrown(() => loadConfig({ ...endpoint, OUTBOX_PUBLISHER: 'webhook', WEBHOOK_URL: 'http://x' })), { variable: 'WEBHOOK_SECRET' })
  t.match(thrown(() => loadConfig({ ...endpoint, OUTBOX_PUBLISHER: 'webhook', WEBHOOK_URL: 'http://x', WEBHOOK_SECRET: 'short' })), { variable: 'WEBHOOK_SECRET' })
  t.match(thrown(() => loadConfig({ ...endpoint, OUTBOX_PUBLISHER: 'kafka' })), { variable: 'OUTBOX_PUBLISHER' })
  const badUrl = thrown(() => loadConfig({ ...endpoint, OUTBOX_PUBLISHER: 'rabbitmq', RABBITMQ_URL: 'amqp://guest:hunter2 @localhost' }))
  t.match(badUrl, { variable: 'RABBITMQ_URL' })
  t.notMatch(String(badUrl?.message), /hunter2/, 'a bad broker URL is named, not echoed: it may hold a password')
  const rabbit = loadConfig({ ...endpoint, OUTBOX_PUBLISHER: 'rabbitmq', RABBITMQ_URL: 'amqp://guest:guest@localhost:5672' })
  t.equal(rabbit.RABBITMQ_EXCHANGE, 'verso.events')
})

t.test('a bad variable is named in one line', async (t) => {
  const bad: Array<[Record<string, string>, string]> = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DYNAMODB_ENDPOINT: 'localhost:8000', AUTH_MODE: 'none' }, 'DYNAMODB_ENDPOINT'],
    [{ CREATE_TABLES: 'maybe' }, 'CREATE_TABLES'],
    [{ TABLE_PREFIX: 'bad prefix!' }, 'TABLE_PREFIX'],
    [{ AUTH_MODE: 'magic' }, 'AUTH_MODE'],
    [{ AUTH_MODE: 'jwt' }, 'AUTH_JWT_SECRET'],
    [{ OUTBOX_SHARDS: '0' }, 'OUTBOX_SHARDS'],
    [{ AWS_REGION: 'nowhere', AUTH_MODE: 'none' }, 'AWS_REGION']
  ]
  for (const [env, variable] of bad) {
    try {
      loadConfig(env)
      t.fail(`${JSON.stringify(env)} should be refused`)
    } catch (err) {
      t.ok(err instanceof ConfigError)
      t.equal((err as ConfigError).variable, variable, `${JSON.stringify(env)} names ${variable}`)
      t.notMatch((err as Error).message, /\n/, 'one line')
      t.match((err as Error).message, variable)
    }
  }
})

t.test('empty values count as unset', async (t) => {
  t.equal(loadConfig({ PORT: '', DYNAMODB_ENDPOINT: '  ' }).embedded, true)
})
