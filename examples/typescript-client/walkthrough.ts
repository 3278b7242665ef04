/**
 * The README's walk-through with a client generated from verso's OpenAPI document: openapi-typescript made
 * verso-api.ts from openapi/openapi.json, openapi-fetch does the calls. No casts: every body, parameter and
 * answer is typed by the document.
 *
 *   VERSO_URL=http://localhost:3000 [VERSO_TOKEN=<JWT or API key>] npx tsx examples/typescript-client/walkthrough.ts
 *
 * Exits 1 at the first answer that is not the one expected.
 */
import createClient from 'openapi-fetch'
import type { components, paths } from './verso-api.js'

type Person = components['schemas']['Person']
type Problem = components['schemas']['Problem']

const baseUrl = process.env.VERSO_URL ?? 'http://localhost:3000'
const token = process.env.VERSO_TOKEN
const verso = createClient<paths>({ baseUrl, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })

/** If-Match and If-None-Match take the version as a quoted entity tag. */
const tag = (version: string): string => `"${version}"`

function expect (condition: boolean, what: string, answer?: { response: Response, error?: Problem | string }): asserts condition {
  if (condition) return
  const detail = typeof answer?.error === 'object' ? `${answer.error.code}: ${answer.error.detail}` : ''
  throw new Error(`${what}: got ${answer?.response.status ?? '?'} ${detail}`)
}

const say = (line: string): void => { process.stdout.write(`${line}\n`) }

// Create: 201 with the new Person (its version is the ETag).
const created = await verso.POST('/person', { body: { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines' } } })
expect(created.data !== undefined && created.response.status === 201, 'create', created)
const ada: Person = created.data
say(`created ${ada.entity_id} at version ${ada.version} (${created.response.headers.get('location') ?? ''})`)

// Conditional read: the version we hold is current, so 304 and no body.
const unchanged = await verso.GET('/person/{id}', { params: { path: { id: ada.entity_id }, header: { 'if-none-match': tag(ada.version) } } })
expect(unchanged.response.status === 304, 'conditional GET with the current ETag', unchanged)
say('GET with If-None-Match: 304 Not Modified')

// Change some fields based on the version read (JSON Merge Patch).
const patched = await verso.PATCH('/person/{id}', {
  params: { path: { id: ada.entity_id }, header: { 'if-match': tag(ada.version) } },
  body: { age: 37, metadata: { city: 'London' } },
  headers: { 'content-type': 'application/merge-patch+json' }
})
expect(patched.data !== undefined, 'PATCH with If-Match', patched)
say(`patched: age ${String(patched.data.age)}, version ${patched.data.version}`)

// A replacement based on the old version is stale: 412, and the problem names the current version.
const stale = await verso.PUT('/person/{id}', {
  params: { path: { id: ada.entity_id }, header: { 'if-match': tag(ada.version) } },
  body: { first_name: 'Ada', last_name: 'Byron' }
})
expect(stale.error !== undefined && stale.response.status === 412, 'stale PUT', stale)
const current = stale.error.current_version
expect(current === patched.data.version, 'the 412 names the current version', stale)
say(`stale PUT: 412 ${stale.error.code}, current version ${current}`)

// Retry on the current version.
const replaced = await verso.PUT('/person/{id}', {
  params: { path: { id: ada.entity_id }, header: { 'if-match': tag(current) } },
  body: { first_name: 'Ada', last_name: 'Byron', age: 37 }
})
expect(replaced.data !== undefined, 'PUT on the current version', replaced)
say(`replaced: ${replaced.data.first_name} ${replaced.data.last_name}, version ${replaced.data.version}`)

// History, newest first, and what changed since the first version.
const versions = await verso.GET('/person/{id}/versions', { params: { path: { id: ada.entity_id }, query: { limit: 10 } } })
expect(versions.data !== undefined && versions.data.items.length === 3, 'three versions', versions)
say(`versions: ${versions.data.items.map((v) => v.version).join(', ')}`)
const diff = await verso.GET('/person/{id}/versions/{version}/diff', { params: { path: { id: ada.entity_id, version: ada.version } } })
expect(diff.data !== undefined, 'diff', diff)
say(`diff from the first version: ${diff.data.map((change) => `${change.op} ${change.path}`).join(', ')}`)

// Restore the first version (a new version with its fields), based on the current one.
const restored = await verso.POST('/person/{id}/versions/{version}/restore', {
  params: { path: { id: ada.entity_id, version: ada.version }, header: { 'if-match': tag(replaced.data.version) } }
})
expect(restored.data !== undefined && restored.data.last_name === 'Lovelace', 'restore', restored)
say(`restored the first version's fields: ${restored.data.first_name} ${restored.data.last_name}, version ${restored.data.version}`)

// A transaction: create a Person and check Ada's version, all or nothing; the results are typed per model.
const committed = await verso.POST('/_transactions', {
  body: {
    operations: [
      { op: 'create', model: 'person', body: { first_name: 'Charles', last_name: 'Babbage' } },
      { op: 'check', model: 'person', id: ada.entity_id, version: restored.data.version }
    ]
  }
})
expect(committed.data !== undefined, 'transaction', committed)
for (const result of committed.data.results) {
  if (result.model === 'person' && result.op === 'create') {
    const charles: Person = result.entity
    say(`transaction created ${charles.first_name} ${charles.last_name} (${charles.entity_id})`)
  } else if (result.model === 'person' && result.op === 'check') {
    say(`transaction checked ${result.entity?.first_name ?? 'nobody'} at ${result.entity?.version ?? '-'}`)
  }
}

// Soft delete with the current version; a read then answers 404.
const deleted = await verso.DELETE('/person/{id}', { params: { path: { id: ada.entity_id }, header: { 'if-match': tag(restored.data.version) } } })
expect(deleted.data !== undefined && !deleted.data.active, 'delete', deleted)
const gone = await verso.GET('/person/{id}', { params: { path: { id: ada.entity_id } } })
expect(gone.error !== undefined && gone.response.status === 404, 'read after delete', gone)
say(`deleted; GET answers 404 ${gone.error.code}`)
