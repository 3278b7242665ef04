import t from 'tap'
import { callsOf, setup, json, etag } from '../support/helper.js'

// docs/guarantees.md: round trips per operation are part of the contract. Counted with the same SDK middleware the
// benchmark uses, so a change that adds a DynamoDB call to an operation fails here.

t.test('DynamoDB calls per operation', async (t) => {
  const ctx = await setup(t)
  const measure = callsOf(ctx.client)
  let current: Record<string, any> = {}
  const id = (): string => String(current.entity_id)

  t.same(await measure(async () => { current = json(await ctx.app.inject({ method: 'POST', url: '/person', payload: { first_name: 'A', last_name: 'B' } })) }),
    { TransactWriteItemsCommand: 1 }, 'create: 1 (the transaction)')
  const first = current
  t.same(await measure(async () => { await ctx.app.inject({ method: 'GET', url: `/person/${id()}` }) }), { GetItemCommand: 1 }, 'get: 1')
  t.same(await measure(async () => { current = json(await ctx.app.inject({ method: 'PUT', url: `/person/${id()}`, headers: { 'if-match': etag(current.version) }, payload: { first_name: 'A', last_name: 'C' } })) }),
    { GetItemCommand: 1, TransactWriteItemsCommand: 1 }, 'update: 2 (consistent read, transaction)')
  t.same(await measure(async () => { current = json(await ctx.app.inject({ method: 'PATCH', url: `/person/${id()}`, headers: { 'if-match': etag(current.version), 'content-type': 'application/merge-patch+json' }, payload: '{"age":3}' })) }),
    { GetItemCommand: 1, TransactWriteItemsCommand: 1 }, 'patch: 2')
  t.same(await measure(async () => { current = json(await ctx.app.inject({ method: 'DELETE', url: `/person/${id()}`, headers: { 'if-match': etag(current.version) } })) }),
    { GetItemCommand: 1, TransactWriteItemsCommand: 1 }, 'delete: 2')
  t.same(await measure(async () => { current = json(await ctx.app.inject({ method: 'POST', url: `/person/${id()}/versions/${String(first.version)}/restore`, headers: { 'if-match': etag(current.version) } })) }),
    { GetItemCommand: 2, TransactWriteItemsCommand: 1 }, 'restore: 2 round trips (the current and the past version are read at once, then the transaction)')
  t.equal(current.last_name, 'B', 'restored')
  t.same(await measure(async () => { await ctx.app.inject({ method: 'GET', url: `/person/${id()}?as_of=${encodeURIComponent(String(first.changed_on))}` }) }),
    { GetItemCommand: 1, QueryCommand: 2 }, 'as_of: 1 round trip (three reads at once)')
  t.same(await measure(async () => { await ctx.app.inject({ method: 'GET', url: '/person?limit=5' }) }), { ScanCommand: 1 }, 'list without an index: 1 per page')
  t.same(await measure(async () => { await ctx.app.inject({ method: 'GET', url: '/person?last_name=B&limit=5' }) }), { QueryCommand: 1 }, 'list by index: 1 per page')
  t.same(await measure(async () => { await ctx.app.inject({ method: 'GET', url: `/person/${id()}/versions?limit=2` }) }),
    { GetItemCommand: 1, QueryCommand: 1 }, 'history, first page: the current item and one Query, at once')
})
