import { startDynamoDbLocal } from './src/embedded/dynamodb-local.js'
import { createDynamoClient } from './src/storage/client.js'
import { ensureTables } from './src/storage/tables.js'
import { buildApp } from './src/app.js'
import { Person } from './src/models/person.js'
import { writeFileSync } from 'node:fs'
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
const d = await startDynamoDbLocal({ port: 47999 })
const c = createDynamoClient({ endpoint: d.endpoint })
await ensureTables(c, 'warm_', [Person])
const app = await buildApp({ config: { TABLE_PREFIX: 'warm_', OUTBOX_SHARDS: 4, EVENT_SOURCE: '/verso', BODY_LIMIT_BYTES: 1 << 20, REQUEST_TIMEOUT_MS: 30000 }, dynamo: c, models: [Person] })
for (let i = 0; i < 30; i++) {
  const r = await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'A', last_name: 'B' } })
  const { entity_id: id, version } = JSON.parse(r.body)
  await app.inject({ method: 'PUT', url: `/person/${id}`, headers: { 'if-match': `"${version}"` }, payload: { first_name: 'A', last_name: 'C' } })
  await app.inject({ method: 'GET', url: `/person/${id}/versions` })
  await app.inject({ method: 'GET', url: '/person' })
}
await app.close()
writeFileSync('/tmp/tr/ddb-ready', d.endpoint)
console.log('warm', d.endpoint)
setInterval(() => {}, 1 << 30)
