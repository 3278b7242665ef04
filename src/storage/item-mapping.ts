import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import type { Model } from '../models/define.js'
import { marshalled } from '../models/field-types/index.js'
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
 * Entity → DynamoDB item, as Rococo/PynamoDB store it: each declared field as its field type maps it (declared
 * objects as JSON text in S, arrays as L, numbers as N, booleans as BOOL; src/models/field-types/), other fields
 * as marshall does; null and absent values are left out of the item.
 */
export function toItem (model: Model, entity: Entity): Item {
  const item: Item = {}
  for (const [key, value] of Object.entries(storedFields(entity))) item[key] = (model.fieldTypes.get(key) ?? marshalled).toAttribute(value)
  return item
}

/** DynamoDB item → entity. JSON text of declared objects is parsed; text that is not JSON is returned as it is. */
export function fromItem (model: Model, item: Item): Entity {
  const entity: Entity = {}
  for (const [key, attribute] of Object.entries(item)) entity[key] = (model.fieldTypes.get(key) ?? marshalled).fromAttribute(attribute)
  return entity
}
