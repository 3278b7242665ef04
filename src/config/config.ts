import { Value } from 'typebox/value'
import { AuthConfigError, authSettings } from '../auth/settings.js'
import { embeddedMode } from './embedded.js'
import { ConfigSchema, type Config, type Publisher, type RawConfig } from './schema.js'

export { ConfigSchema, type Config, type Publisher } from './schema.js'

/** What each publisher needs besides itself. */
const PUBLISHER_NEEDS: Record<Publisher, Array<keyof RawConfig>> = {
  log: [],
  rabbitmq: ['RABBITMQ_URL'],
  sqs: ['SQS_QUEUE_URL'],
  webhook: ['WEBHOOK_URL', 'WEBHOOK_SECRET']
}

export class ConfigError extends Error {
  constructor (readonly variable: string, message: string) {
    super(`invalid configuration: ${variable} ${message}`)
    this.name = 'ConfigError'
  }
}

/**
 * Reads verso's settings from the environment. Only the keys of ConfigSchema are looked at;
 * empty strings count as unset. The first bad variable throws a ConfigError naming it.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key]
    if (value !== undefined && value.trim() !== '') raw[key] = value.trim()
  }
  const converted = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw)) as Record<string, unknown>
  const first = [...Value.Errors(ConfigSchema, converted)][0]
  if (first !== undefined) {
    const variable = first.instancePath.replace(/^\//, '') || String((first.params as { requiredProperties?: string[] }).requiredProperties?.[0] ?? 'configuration')
    // Never echo a secret into a log line (broker and webhook URLs may carry credentials too).
    const given = /SECRET|API_KEYS|RABBITMQ_URL|WEBHOOK_URL/.test(variable) ? undefined : raw[variable]
    throw new ConfigError(variable, `${first.message}${given === undefined ? '' : ` (got ${JSON.stringify(given)})`}`)
  }
  const cfg = converted as RawConfig
  const embedded = embeddedMode(env) !== undefined
  if (!embedded && cfg.AUTH_MODE === undefined) {
    throw new ConfigError('AUTH_MODE', 'must be set when verso is not running on its embedded DynamoDB Local (use AUTH_MODE=none to run without authentication on purpose)')
  }
  try {
    authSettings(cfg)
  } catch (err) {
    if (err instanceof AuthConfigError) throw new ConfigError(err.variable, err.reason)
    throw err
  }
  if (cfg.METRICS_PORT !== undefined && cfg.METRICS_PORT !== 0 && cfg.METRICS_PORT === cfg.PORT) {
    throw new ConfigError('METRICS_PORT', `must differ from PORT (${cfg.PORT}): metrics have a listener of their own, apart from the API`)
  }
  // Outside the embedded mode a relay that only logs would drop events on the floor: the publisher is a choice.
  if (!embedded && cfg.RELAY_ENABLED && cfg.OUTBOX_PUBLISHER === undefined) {
    throw new ConfigError('OUTBOX_PUBLISHER', 'must be set (log, rabbitmq, sqs or webhook) when the relay runs outside the embedded mode, or set RELAY_ENABLED=false')
  }
  const publisher = cfg.OUTBOX_PUBLISHER ?? 'log'
  for (const needed of PUBLISHER_NEEDS[publisher]) {
    if (cfg[needed] === undefined) throw new ConfigError(needed, `must be set when OUTBOX_PUBLISHER=${publisher}`)
  }
  return {
    ...cfg,
    embedded,
    CREATE_TABLES: cfg.CREATE_TABLES ?? embedded,
    AUTH_MODE: cfg.AUTH_MODE ?? 'none',
    OUTBOX_PUBLISHER: publisher,
    // An operator tool: on where verso runs on a workstation, a choice wherever else.
    CONSOLE_ENABLED: cfg.CONSOLE_ENABLED ?? embedded
  }
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** A duration setting (`86400`, `90m`, `24h`, `7d`; plain numbers are seconds) in seconds. */
export function durationSeconds (text: string): number {
  const m = /^([1-9][0-9]*)([smhd]?)$/.exec(text)
  if (m === null) throw new Error(`not a duration: ${JSON.stringify(text)}`)
  return Number(m[1]) * (DURATION_UNITS[m[2] || 's'] ?? 1)
}
