import t from 'tap'
import { Type } from 'typebox'
import { defineModel } from '../../src/models/define.js'
import { fromItem, toItem } from '../../src/storage/item-mapping.js'

const Thing = defineModel({
  name: 'Thing',
  allowExtra: true,
  schema: Type.Object({
    name: Type.String(),
    count: Type.Optional(Type.Integer()),
    ratio: Type.Optional(Type.Number()),
    done: Type.Optional(Type.Boolean()),
    meta: Type.Optional(Type.Object({}, { additionalProperties: true })),
    tags: Type.Optional(Type.Array(Type.String()))
  }),
  example: { name: 'x' }
})

t.test('type mapping (docs/storage.md)', async (t) => {
  const item = toItem(Thing, { name: 'a', count: 3, ratio: 0.5, done: false, meta: { k: [1, { z: null }] }, tags: ['x', 'y'], gone: null, missing: undefined })
  t.same(item, {
    name: { S: 'a' },
    count: { N: '3' },
    ratio: { N: '0.5' },
    done: { BOOL: false },
    meta: { S: '{"k":[1,{"z":null}]}' },
    tags: { L: [{ S: 'x' }, { S: 'y' }] }
  })
  t.same(fromItem(Thing, item), { name: 'a', count: 3, ratio: 0.5, done: false, meta: { k: [1, { z: null }] }, tags: ['x', 'y'] })
})

t.test('numbers beyond 2^53 are stored and read without an SDK error', async (t) => {
  const item = toItem(Thing, { name: 'a', ratio: 1e20 })
  t.same(item.ratio, { N: '100000000000000000000' })
  t.equal(fromItem(Thing, item).ratio, 1e20)
})

t.test('extra fields keep their natural DynamoDB types', async (t) => {
  const item = toItem(Thing, { name: 'a', extra: { nested: true } })
  t.same(item.extra, { M: { nested: { BOOL: true } } })
  t.same(fromItem(Thing, item).extra, { nested: true })
})

t.test('JSON text that is not JSON is handed back as it is', async (t) => {
  t.equal(fromItem(Thing, { name: { S: 'a' }, meta: { S: 'not json' } }).meta, 'not json')
})
