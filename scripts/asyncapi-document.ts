import { fileURLToPath } from 'node:url'
import { models } from '../src/models/index.js'
import { buildAsyncApi } from '../src/outbox/asyncapi.js'

export const ASYNCAPI_PATH = fileURLToPath(new URL('../asyncapi/asyncapi.json', import.meta.url))

/** The document of the default production setup (built-in models, default EVENT_SOURCE and exchange), pretty-printed. */
export const generateAsyncApi = (): string => JSON.stringify(buildAsyncApi({ models }), null, 2) + '\n'
