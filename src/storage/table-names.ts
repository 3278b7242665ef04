import type { Model } from '../models/define.js'

export interface ModelTables {
  main: string
  audit: string
}

/** Rococo's layout: the lower-cased model name, and the same name with `_audit` for replaced versions. */
export function modelTables (prefix: string, model: Model): ModelTables {
  const main = `${prefix}${model.tableName}`
  return { main, audit: `${main}_audit` }
}

export const outboxTable = (prefix: string): string => `${prefix}verso_outbox`
