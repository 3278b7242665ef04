import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { badRequest } from '../errors.js'
import { isId } from '../models/meta.js'

/** Opaque, URL-safe page cursor: the scan's LastEvaluatedKey (an entity id) in base64url JSON. */
export function encodeCursor (lastKey: Record<string, AttributeValue>): string {
  return Buffer.from(JSON.stringify(lastKey)).toString('base64url')
}

export function decodeCursor (cursor: string): Record<string, AttributeValue> {
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    key = undefined
  }
  const entityId = (key as { entity_id?: { S?: unknown } } | undefined)?.entity_id?.S
  if (typeof key !== 'object' || key === null || Object.keys(key).length !== 1 || !isId(entityId)) {
    throw badRequest('cursor is not a cursor this service issued; start again without it.')
  }
  return { entity_id: { S: entityId } }
}
