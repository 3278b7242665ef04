import t from 'tap'
import { PutItemCommand } from '@aws-sdk/client-dynamodb'
import { Book } from '../../src/models/book.js'
import { ZERO_ID } from '../../src/models/entity.js'
import { countCalls } from '../../src/storage/client.js'
import { setup, json, type TestContext } from '../support/helper.js'

const V1 = '0123456789abcdef0123456789abcdef'
const AUTHORS = Array.from({ length: 12 }, (_, i) => `Author ${String(i).padStart(2, '0')}`)

/** 300 books by 12 authors: 25 each, titles T000..T299, ratings 1..5 by title number, 3 rated... see below. */
async function library (ctx: TestContext): Promise<Array<Record<string, any>>> {
  const books: Array<Record<string, any>> = []
  for (let i = 0; i < 300; i += 25) {
    books.push(...await Promise.all(Array.from({ length: 25 }, async (_, j) => {
      const n = i + j
      const payload = { title: `T${String(n).padStart(3, '0')}`, author: AUTHORS[n % 12], status: n % 100 === 7 ? 'finished' : 'to_read', ...(n % 10 === 0 ? {} : { rating: (n % 5) + 1 }) }
      const res = await ctx.app.inject({ method: 'POST', url: '/book', payload })
      if (res.statusCode !== 201) throw new Error(res.body)
      return json(res)
    })))
  }
  return books
}

async function pages (ctx: TestContext, url: string): Promise<{ items: any[], pages: number, plans: Set<string> }> {
  const items: any[] = []
  const plans = new Set<string>()
  let cursor: string | null = null
  let count = 0
  do {
    const sep = url.includes('?') ? '&' : '?'
    const res = await ctx.app.inject({ method: 'GET', url: `${url}${cursor === null ? '' : `${sep}cursor=${encodeURIComponent(cursor)}`}` })
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
    plans.add(String(res.headers['x-query-plan']))
    const body = json(res)
    items.push(...body.items)
    cursor = body.next_cursor
    count++
  } while (cursor !== null && count < 1000)
  return { items, pages: count, plans }
}

t.test('300 books by 12 authors', async (t) => {
  const ctx = await setup(t)
  const books = await library(ctx)
  const calls = countCalls(ctx.client)

  t.test('list by author and any title uses the index, returns exactly the right books in title order both ways', async (t) => {
    const author = AUTHORS[5]!
    const expected = books.filter((b) => b.author === author).map((b) => b.title).sort()
    for (const key of Object.keys(calls)) delete calls[key]
    const asc = await pages(ctx, `/book?author=${encodeURIComponent(author)}&title=exists.true&limit=7`)
    t.same([...asc.plans], ['index:author'], 'X-Query-Plan: index:author')
    t.same(asc.items.map((b) => b.title), expected, 'every book of the author once, ascending by title')
    t.equal(calls.QueryCommand, asc.pages, 'one Query per page')
    t.equal(calls.ScanCommand, undefined, 'no Scan')
    const desc = await pages(ctx, `/book?author=${encodeURIComponent(author)}&title=exists.true&limit=10&order=desc`)
    t.same(desc.items.map((b) => b.title), [...expected].reverse(), 'descending with order=desc')
    const ranged = await pages(ctx, `/book?author=${encodeURIComponent(author)}&title=begins_with.T1`)
    t.same(ranged.items.map((b) => b.title), expected.filter((x) => x.startsWith('T1')), 'a range-key condition in the key')
    const between = await pages(ctx, `/book?author=${encodeURIComponent(author)}&title=between.T050,T150&order=desc`)
    t.same(between.items.map((b) => b.title), expected.filter((x) => x >= 'T050' && x <= 'T150').reverse())
    const anyTitle = await pages(ctx, `/book?author=${encodeURIComponent(author)}`)
    t.same([...anyTitle.plans], ['scan'], 'author alone is a scan: the index leaves out books without a title')
    t.same(anyTitle.items.map((b) => b.title).sort(), expected)
  })

  t.test('operators on numbers and strings, edge values included', async (t) => {
    const check = async (query: string, predicate: (b: any) => boolean, message: string): Promise<void> => {
      const { items } = await pages(ctx, `/book?${query}&limit=100`)
      t.same(items.map((b) => b.title).sort(), books.filter(predicate).map((b) => b.title).sort(), message)
    }
    await check('rating=5', (b) => b.rating === 5, 'plain value is equality')
    await check('rating=eq.5', (b) => b.rating === 5, 'eq')
    await check('rating=ne.5', (b) => b.rating !== undefined && b.rating !== 5, 'ne (absent attributes do not match)')
    await check('rating=lt.2', (b) => b.rating !== undefined && b.rating < 2, 'lt at the lower edge')
    await check('rating=lte.1', (b) => b.rating === 1, 'lte')
    await check('rating=gt.4', (b) => b.rating === 5, 'gt at the upper edge')
    await check('rating=gte.5', (b) => b.rating === 5, 'gte')
    await check('rating=between.2,3', (b) => b.rating === 2 || b.rating === 3, 'between is inclusive')
    await check('rating=in.(1,5)', (b) => b.rating === 1 || b.rating === 5, 'in')
    await check('rating=exists.false', (b) => b.rating === undefined, 'exists.false')
    await check('rating=exists.true&rating=lt.3', (b) => b.rating !== undefined && b.rating < 3, 'conditions combine')
    await check('title=begins_with.T29', (b) => b.title.startsWith('T29'), 'begins_with')
    await check('title=gte.T295', (b) => b.title >= 'T295', 'string comparison')
    await check(`author=in.(${AUTHORS[0]},"${AUTHORS[1]}")`, (b) => b.author === AUTHORS[0] || b.author === AUTHORS[1], 'in on strings, quoted values')
    await check('status=finished', (b) => b.status === 'finished', 'enum equality')
    await check('title=eq.T000', (b) => b.title === 'T000', 'eq. prefix')
  })

  t.test('type mismatches and unknown fields are 400 with the field named', async (t) => {
    const bad = ['rating=abc', 'rating=gt.x', 'rating=2.5', 'rating=9', 'rating=between.4,2', 'rating=between.1', 'rating=in.()',
      'title=exists.maybe', 'rating=begins_with.1', 'status=burnt', 'status=in.(to_read,burnt)', 'nope=1', 'metadata=1']
    for (const query of bad) {
      const res = await ctx.app.inject({ method: 'GET', url: `/book?${query}` })
      t.equal(res.statusCode, 400, query)
      t.match(json(res).errors?.[0]?.path ?? json(res).detail, /querystring\/|not a known field/, `${query} names the field`)
    }
  })

  t.test('a scan with a filter matching 1 in 100 pages correctly, empty pages included', async (t) => {
    const { items, pages: count, plans } = await pages(ctx, '/book?status=finished&limit=20')
    t.same([...plans], ['scan'])
    t.same(items.map((b) => b.title).sort(), ['T007', 'T107', 'T207'])
    t.ok(count >= 15, `the scan went through the whole table (${count} pages), continuing past pages that matched nothing`)
  })

  t.test('count with the same filters', async (t) => {
    const byAuthor = await ctx.app.inject({ method: 'GET', url: `/book/count?author=${encodeURIComponent(AUTHORS[3]!)}&title=exists.true` })
    t.equal(byAuthor.headers['x-query-plan'], 'index:author')
    t.match(json(byAuthor), { count: 25, complete: true })
    const scan = json(await ctx.app.inject({ method: 'GET', url: '/book/count?rating=gte.4' }))
    t.match(scan, { count: books.filter((b) => b.rating >= 4).length, complete: true, scanned: 300 })
    t.equal(json(await ctx.app.inject({ method: 'GET', url: '/book/count' })).count, 300)
    t.equal((await ctx.app.inject({ method: 'GET', url: '/book/count?rating=x' })).statusCode, 400)
  })

  t.test('fields projection', async (t) => {
    const body = json(await ctx.app.inject({ method: 'GET', url: `/book?author=${encodeURIComponent(AUTHORS[0]!)}&title=exists.true&fields=title&limit=3` }))
    t.equal(body.items.length, 3)
    t.ok(body.items.every((b: any) => Object.keys(b).sort().join() === 'entity_id,title'), 'only entity_id and the fields asked for')
    t.equal((await ctx.app.inject({ method: 'GET', url: '/book?fields=nope' })).statusCode, 400)
    t.equal((await ctx.app.inject({ method: 'GET', url: '/book?fields=title,,author' })).statusCode, 400)
  })

  t.test('more conditions on the index key fields, empty operands, unicode bounds, too many values: never a 500', async (t) => {
    const a = encodeURIComponent(AUTHORS[2]!)
    const expectedTitles = books.filter((b) => b.author === AUTHORS[2]).map((b) => b.title).sort()
    const two = await pages(ctx, `/book?author=${a}&title=gte.T050&title=lte.T150`)
    t.same(two.items.map((b) => b.title).sort(), expectedTitles.filter((x) => x >= 'T050' && x <= 'T150'), 'two range conditions on the sort key')
    t.equal((await ctx.app.inject({ method: 'GET', url: `/book?author=${a}&author=ne.X` })).statusCode, 200, 'a second condition on the hash field')
    t.equal((await ctx.app.inject({ method: 'GET', url: `/book?author=${a}&title=in.(T002,T014)` })).statusCode, 200)
    t.equal((await ctx.app.inject({ method: 'GET', url: `/book/count?author=${a}&title=gte.A&title=lte.Z` })).statusCode, 200)
    for (const q of [`author=${a}&title=gt.`, `author=${a}&title=begins_with.`, `author=${a}&title=between.,z`, 'author=']) {
      t.equal((await ctx.app.inject({ method: 'GET', url: `/book?${q}` })).statusCode, 400, q)
    }
    t.equal((await ctx.app.inject({ method: 'GET', url: `/book?title=${encodeURIComponent('between.😀,\uFFFF')}` })).statusCode, 400, 'bounds compared as UTF-8, as DynamoDB does')
    t.equal((await ctx.app.inject({ method: 'GET', url: `/book?title=${encodeURIComponent('between.\uFFFF,😀')}` })).statusCode, 200)
    const many = Array.from({ length: 101 }, (_, i) => `T${i}`).join(',')
    t.equal((await ctx.app.inject({ method: 'GET', url: `/book?title=in.(${many})` })).statusCode, 400, 'more than 100 values')
  })

  t.test('sorting without an index is refused, not ignored', async (t) => {
    for (const url of ['/book?order=asc', '/book?rating=5&order=desc', '/book?sort=title', '/person?last_name=X&order=asc', '/book?author=X&order=asc', '/book?author=X&title=exists.false&order=asc']) {
      const res = await ctx.app.inject({ method: 'GET', url })
      t.equal(res.statusCode, 400, url)
    }
  })

  t.test('cursors: tampered, from another model, from another filter set → 400', async (t) => {
    const first = json(await ctx.app.inject({ method: 'GET', url: `/book?author=${encodeURIComponent(AUTHORS[0]!)}&title=exists.true&limit=5` }))
    const cursor = String(first.next_cursor)
    const flipped = cursor.slice(0, 10) + (cursor[10] === 'A' ? 'B' : 'A') + cursor.slice(11)
    const urls = [
      `/book?author=${encodeURIComponent(AUTHORS[0]!)}&title=exists.true&limit=5&cursor=${flipped}`,
      `/book?author=${encodeURIComponent(AUTHORS[1]!)}&title=exists.true&limit=5&cursor=${cursor}`,
      `/book?limit=5&cursor=${cursor}`,
      `/person?limit=5&cursor=${cursor}`,
      `/book?author=${encodeURIComponent(AUTHORS[0]!)}&title=exists.true&limit=5&order=desc&cursor=${cursor}`
    ]
    for (const url of urls) t.equal((await ctx.app.inject({ method: 'GET', url })).statusCode, 400, url)
    t.equal((await ctx.app.inject({ method: 'GET', url: `/book?author=${encodeURIComponent(AUTHORS[0]!)}&title=exists.true&limit=5&cursor=${cursor}` })).statusCode, 200, 'the genuine cursor works')
  })
})

t.test('SCAN_POLICY=deny refuses a scan and names the indexes that would serve', async (t) => {
  const ctx = await setup(t, { config: { SCAN_POLICY: 'deny' } })
  const res = await ctx.app.inject({ method: 'GET', url: '/book?rating=5' })
  t.equal(res.statusCode, 400)
  t.equal(json(res).code, 'VERSO_SCAN_REFUSED')
  t.match(json(res).detail, /author=<value>&title=<eq\|lt\|lte\|gt\|gte\|between\|begins_with\|exists\.true> \(index author\)/)
  t.equal((await ctx.app.inject({ method: 'GET', url: '/book/count' })).statusCode, 400, 'count too')
  t.equal((await ctx.app.inject({ method: 'GET', url: '/book?author=X&title=exists.true' })).statusCode, 200, 'an indexed query is fine')
  t.equal((await ctx.app.inject({ method: 'GET', url: '/book?author=X&title=begins_with.T' })).statusCode, 200)
  t.equal((await ctx.app.inject({ method: 'GET', url: '/book?author=X' })).statusCode, 400, 'the index does not hold books without a title: a scan')
})

t.test('a book another writer stored without a title: found by the author filter, left out only where the filter says so', async (t) => {
  const ctx = await setup(t)
  const created = json(await ctx.app.inject({ method: 'POST', url: '/book', payload: { title: 'With', author: 'Edge Author' } }))
  const id = 'f'.repeat(32)
  await ctx.client.send(new PutItemCommand({
    TableName: ctx.tables(Book).main,
    Item: { entity_id: { S: id }, version: { S: V1 }, previous_version: { S: ZERO_ID }, active: { BOOL: true }, changed_on: { S: '2026-01-01T00:00:00+00:00' }, author: { S: 'Edge Author' } }
  }))
  const all = await ctx.app.inject({ method: 'GET', url: '/book?author=Edge%20Author' })
  t.equal(all.headers['x-query-plan'], 'scan')
  t.same(json(all).items.map((b: any) => b.entity_id).sort(), [created.entity_id, id].sort())
  t.match(json(await ctx.app.inject({ method: 'GET', url: '/book/count?author=Edge%20Author' })), { count: 2 })
  const titled = await ctx.app.inject({ method: 'GET', url: '/book?author=Edge%20Author&title=exists.true' })
  t.equal(titled.headers['x-query-plan'], 'index:author')
  t.same(json(titled).items.map((b: any) => b.entity_id), [created.entity_id], 'only the book with a title, as the filter asks')
  t.match(json(await ctx.app.inject({ method: 'GET', url: '/book/count?author=Edge%20Author&title=exists.true' })), { count: 1 })
  const untitled = await ctx.app.inject({ method: 'GET', url: '/book?author=Edge%20Author&title=exists.false' })
  t.equal(untitled.headers['x-query-plan'], 'scan')
  t.same(json(untitled).items.map((b: any) => b.entity_id), [id])
})
