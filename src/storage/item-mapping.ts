import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb'
import type { Model } from '../models/define.js'

export type Item = Record<string, AttributeValue>
export type Entity = Record<string, unknown>

/**
 * Entity → DynamoDB item, as Rococo/PynamoDB store it: declared objects as JSON text in S (JSONAttribute),
 * arrays as L, numbers as N, booleans as BOOL; null and absent values are left out of the item.
 */
export function toItem (model: Model, entity: Entity): Item {
  const plain: Entity = {}
  for (const [key, value] of Object.entries(entity)) {
    if (value === null || value === undefined) continue
    plain[key] = model.jsonFields.has(key) ? JSON.stringify(value) : value
  }
  return marshall(plain, { removeUndefinedValues: true, allowImpreciseNumbers: true, convertEmptyValues: false })
}

/** DynamoDB item → entity. JSON text of declared objects is parsed; text that is not JSON is returned as it is. */
export function fromItem (model: Model, item: Item): Entity {
  const entity = unmarshall(item, { wrapNumbers: (text: string) => Number(text) }) as Entity
  for (const field of model.jsonFields) {
    const value = entity[field]
    if (typeof value !== 'string') continue
    try {
      entity[field] = JSON.parse(value)
    } catch {
      // Not JSON: another writer stored plain text; hand it back untouched rather than fail the read.
    }
  }
  return entity
}
