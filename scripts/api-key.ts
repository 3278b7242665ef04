/**
 * `npm run api-key -- <id> [scope…]`: makes a random API key and prints it with the AUTH_API_KEYS entry that
 * holds its SHA-256. Hand the key to the client; configure only the entry.
 */
import { randomBytes } from 'node:crypto'
import { hashApiKey } from '../src/auth/api-keys.js'
import { AuthConfigError, parseApiKeys } from '../src/auth/settings.js'

const [id, ...scopes] = process.argv.slice(2)
if (id === undefined || id.startsWith('-')) {
  process.stderr.write('usage: npm run api-key -- <id> [scope…]   e.g. npm run api-key -- billing person:read book:write\n')
  process.exit(2)
}
const key = `vk_${randomBytes(32).toString('base64url')}`
const entry = [id, hashApiKey(key), ...(scopes.length === 0 ? [] : [scopes.join(' ')])].join(':')
try {
  parseApiKeys(entry)
} catch (err) {
  if (!(err instanceof AuthConfigError)) throw err
  process.stderr.write(`${err.reason}\n`)
  process.exit(2)
}
process.stdout.write(`key (give it to the client, verso does not keep it):\n  ${key}\nAUTH_API_KEYS entry (comma-separate several):\n  ${entry}\n`)
