import type { Model } from '../models/define.js'
import { ProblemRef } from '../http/schemas.js'

export const NDJSON = 'application/x-ndjson'

const EXAMPLE_BODY = '{"title":"The Dispossessed","author":"Ursula K. Le Guin"}\n{"entity_id":"3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f","title":"Kindred","author":"Octavia E. Butler","rating":5}\n{"title":""}\n'
const EXAMPLE_ANSWER = '{"line":1,"status":201,"entity_id":"b7e2c1d0a9f84e3b8c6d5e4f3a2b1c0d","version":"019ac3f2b0c17d2e8f3a4b5c6d7e8f90"}\n' +
  '{"line":3,"status":400,"problem":{"type":"urn:verso:problem:validation-failed","title":"Request validation failed","status":400,"detail":"/body/title must NOT have fewer than 1 characters.","code":"VERSO_VALIDATION_FAILED","errors":[{"path":"/body/title","message":"must NOT have fewer than 1 characters"}]}}\n' +
  '{"line":2,"status":201,"entity_id":"3f2c9a4e8d1b4c7a9e6f0a1b2c3d4e5f","version":"019ac3f2b0c27d2e8f3a4b5c6d7e8f91"}\n' +
  '{"summary":{"lines":3,"created":2,"failed":1,"complete":true}}\n'

/** How the import commits: lines per TransactWriteItems, and TransactWriteItems in flight per request. */
export interface BulkPacing { batch: number, concurrency: number }

/** The schema of `POST /{model}/_bulk` (docs/transactions-and-bulk.md): NDJSON in, NDJSON out. */
export function bulkRouteSchema (model: Model, { batch, concurrency }: BulkPacing): Record<string, unknown> {
  return {
    tags: [model.name],
    operationId: `bulkCreate${model.name}`,
    summary: `Create many ${model.name} entities from NDJSON (not atomic)`,
    description: `One ${model.name} body per line, as POST /${model.path} takes it (entity_id may be given; blank lines are skipped). Not atomic: every valid line is created on its own, with its own version and event; valid lines are committed ${batch} to a TransactWriteItems, ${concurrency} at a time, and a line whose create fails (its entity_id exists: 409) is answered and left out while the others of its batch commit. The answer streams back as NDJSON while the body is read, one line per input line, in the order they complete (not line order): {"line":N,"status":201,"entity_id":…,"version":…} or {"line":N,"status":4xx,"problem":{…}}, then {"summary":{"lines","created","failed","complete"}}. A line may be BODY_LIMIT_BYTES long (413 VERSO_LINE_TOO_LONG for that line); the body BULK_BODY_LIMIT_BYTES (413 at once when Content-Length says so; otherwise reading stops there and the summary has complete: false and the problem). The body must arrive within REQUEST_TIMEOUT_MS: split large files (npm run import does). No Idempotency-Key: give each line an entity_id to make a retry safe (lines already created then answer 409).`,
    body: { content: { [NDJSON]: { schema: { type: 'string', description: `One ${model.name} JSON object per line`, examples: [EXAMPLE_BODY] } } } },
    response: {
      200: { description: 'One answer per line, then a summary line (NDJSON, streamed)', content: { [NDJSON]: { schema: { type: 'string', examples: [EXAMPLE_ANSWER] } } } },
      413: { description: 'Content-Length is above BULK_BODY_LIMIT_BYTES; nothing was read', content: { 'application/problem+json': { schema: ProblemRef } } },
      415: { description: `Content-Type is not ${NDJSON}`, content: { 'application/problem+json': { schema: ProblemRef } } }
    }
  }
}
