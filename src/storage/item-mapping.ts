import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb'
import type { Model } from '../models/define.js'
import type { Entity } from '../models/entity.js'

export type Item = Record<string, AttributeValue>

/**
 * The entity as it is stored: absent and null values are left out of an item (as Rococo does; docs/storage.md), so the
 * answer to a write and its event leave them out too, and say what a later read says.
 */
export function storedFields (entity: Entity): Entity {
  const plain: Entity = {}
  for (const [key, value] of Object.entries(entity)) {
    if (value !== null && value !== undefined) plain[key] = value
  }
  return plain
}

/**
 * Entity → DynamoDB item, as Rococo/PynamoDB store it: declared objects as JSON text in S (JSONAttribute),
 * arrays as L, numbers as N, booleans as BOOL; null and absent values are left out of the item.
 */
export function toItem (model: Model, entity: Entity): Item {
  const plain = storedFields(entity)
  for (const key of model.jsonFields) {
    if (key in plain) plain[key] = JSON.stringify(plain[key])
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
