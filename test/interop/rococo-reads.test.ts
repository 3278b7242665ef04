import t from 'tap'
import { randomUUID } from 'node:crypto'
import { ListTablesCommand, type AttributeValue } from '@aws-sdk/client-dynamodb'
import type { Test } from 'tap'
import type { Model } from '../../src/models/define.js'
import { Book } from '../../src/models/book.js'
import { Person } from '../../src/models/person.js'
import { SECRET, bearer, secretKey, token } from '../support/auth.js'
import { setup, json, etag, type TestContext } from '../support/helper.js'
import { Article, interopModels, RococoArticle, RococoBook, RococoPerson } from './models.js'
import {
  attributeFor, BIG_6, BIG_6_UUID_FIELDS, isoparse, loadRococo, pyIsoformat, pyUuidHex, rococoMessageBody,
  RococoRepository, STORED_AS, type Instance, type RococoModel
} from './rococo.js'

// verso writes, Rococo reads: every item verso leaves in a table a Rococo service shares (main and audit) is
// loaded the way Rococo's DynamoDbRepository loads it (PynamoDB deserialization of the declared attributes, then
// VersionedModel.from_dict; see ./rococo.ts), and must come out as verso answered it, with nothing Rococo would
// have to ignore, refuse or merely log.

type Row = Record<string, AttributeValue>
const ZERO = '00000000000040008000000000000000'
const HEX32 = /^[0-9a-f]{32}$/

/** Field-by-field checks of one stored item against the Rococo model; returns what Rococo loads from it. */
function checkItem (t: Test, model: RococoModel, row: Row, label: string): Instance {
  const types = { ...BIG_6, ...model.fields }
  t.same(Object.keys(row).filter((name) => !(name in types)), [], `${label}: no attribute the Rococo model does not declare`)
  t.same(Object.keys(BIG_6).filter((name) => !(name in row)), [], `${label}: all of the Big 6`)
  const wrongTypes = Object.entries(row)
    .filter(([name, value]) => name in types && JSON.stringify(Object.keys(value)) !== JSON.stringify([STORED_AS[attributeFor(types[name]!)]]))
    .map(([name, value]) => `${name}: ${Object.keys(value).join()} where ${attributeFor(types[name]!)} stores ${STORED_AS[attributeFor(types[name]!)]}`)
  t.same(wrongTypes, [], `${label}: every attribute has the DynamoDB type of its PynamoDB attribute`)
  const loaded = loadRococo(model, row) // throws where PynamoDB would (wrong type, a dict field that is not JSON)
  t.same(loaded.warnings, [], `${label}: from_dict has nothing to complain about`)
  for (const name of BIG_6_UUID_FIELDS) {
    const value = row[name]?.S
    t.ok(value !== undefined && HEX32.test(value) && pyUuidHex(value) === value, `${label}: ${name} is 32 lowercase hex digits, unchanged by UUID(v).hex (${String(value)})`)
  }
  const changedOn = String(row.changed_on?.S)
  const parsed = isoparse(changedOn)
  t.ok(parsed?.aware, `${label}: changed_on is an aware ISO 8601 time (${changedOn})`)
  t.equal(parsed === undefined ? undefined : pyIsoformat(parsed.micros), changedOn, `${label}: changed_on is exactly what isoformat() writes for that instant`)
  return loaded.instance
}

async function listTables (ctx: TestContext): Promise<string[]> {
  const names: string[] = []
  let start: string | undefined
  do {
    const page = await ctx.client.send(new ListTablesCommand({ ExclusiveStartTableName: start }))
    names.push(...(page.TableNames ?? []))
    start = page.LastEvaluatedTableName
  } while (start !== undefined)
  return names.filter((name) => name.startsWith(ctx.prefix))
}

t.test('what verso writes to shared tables is what Rococo reads, field by field', async (t) => {
  const ctx = await setup(t, { models: interopModels, config: { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET } })
  const subject = randomUUID().toUpperCase()
  const auth = bearer(await token(secretKey(), { claims: { sub: subject } }))
  const send = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<Record<string, any>> => {
    const res = await ctx.app.inject({ method, url, headers: { ...auth, ...headers }, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) })
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
    return json(res)
  }
  const ifMatch = (entity: Record<string, any>): Record<string, string> => ({ 'if-match': etag(entity.version) })

  // A Person through every kind of write, the create under an Idempotency-Key.
  const idempotencyKey = `interop-${randomUUID()}`
  let ada = await send('POST', '/person', { first_name: 'Ada', last_name: 'Lovelace', age: 36, metadata: { team: 'engines', notes: ['G'], ü: null } }, { 'idempotency-key': idempotencyKey })
  const first = ada
  ada = await send('PATCH', `/person/${String(ada.entity_id)}`, { age: 37, metadata: { city: 'London' } }, ifMatch(ada))
  ada = await send('PUT', `/person/${String(ada.entity_id)}`, { first_name: 'Augusta Ada', last_name: 'King' }, ifMatch(ada))
  ada = await send('DELETE', `/person/${String(ada.entity_id)}`, undefined, ifMatch(ada))
  ada = await send('POST', `/person/${String(ada.entity_id)}/versions/${String(first.version)}/restore`, undefined, ifMatch(ada))
  let book = await send('POST', '/book', { title: 'Kindred', author: 'Octavia E. Butler' })
  book = await send('PATCH', `/book/${String(book.entity_id)}`, { status: 'finished', rating: 5 }, ifMatch(book))
  let article = await send('POST', '/article', { title: 'Shared', tags: ['a', 1, 1.5, false, null, { k: [null] }], score: 0.25, published: true, meta: {}, notes: { n: 1 } })
  article = await send('PUT', `/article/${String(article.entity_id)}`, { title: 'Shared', tags: [], notes: null }, ifMatch(article))

  t.equal(first.changed_by_id, subject.replaceAll('-', '').toLowerCase(), 'the caller\'s UUID is written as Rococo writes ids: 32 lowercase hex')
  t.equal(first.previous_version, ZERO, 'a first version names get_uuid_hex(0)')

  for (const [model, rococoModel, entity, count] of [[Person, RococoPerson, ada, 5], [Book, RococoBook, book, 2], [Article, RococoArticle, article, 2]] as Array<[Model, RococoModel, Record<string, any>, number]>) {
    const { main, audit } = ctx.tables(model)
    const mainRows = await ctx.scanRaw(main)
    const auditRows = await ctx.scanRaw(audit)
    t.equal(mainRows.length, 1, `${model.name}: one current item`)
    t.equal(auditRows.length, count - 1, `${model.name}: the ${count - 1} replaced versions in ${audit}`)
    for (const [where, row] of [...mainRows.map((r) => ['main', r] as const), ...auditRows.map((r) => ['audit', r] as const)]) {
      const label = `${model.name} ${where} ${String(row.version?.S).slice(0, 8)}`
      const loaded = checkItem(t, rococoModel, row, label)
      const api = await ctx.app.inject({ method: 'GET', url: `/${model.path}/${String(entity.entity_id)}/versions/${String(row.version?.S)}`, headers: auth })
      t.same(loaded, json(api), `${label}: Rococo loads what verso answers for that version`)
    }
    const history = json(await ctx.app.inject({ method: 'GET', url: `/${model.path}/${String(entity.entity_id)}/versions`, headers: auth })).items as Array<Record<string, any>>
    t.same(new Set(auditRows.map((r) => r.version?.S)), new Set(history.slice(1).map((v) => v.version)), `${model.name}: the audit table holds exactly the replaced versions`)
    t.equal(mainRows[0]?.version?.S, entity.version, `${model.name}: the main table holds the current one only`)
    t.equal(history[history.length - 1]?.previous_version, ZERO)
  }

  // Rococo's repository on verso's items: get_one filters on active == True.
  const rococo = new RococoRepository(ctx.client, RococoPerson, { prefix: ctx.prefix })
  const loaded = await rococo.getOne(String(ada.entity_id))
  t.same(loaded?.instance, ada, 'Rococo\'s get_one finds verso\'s restored Person as verso answers it')
  await send('DELETE', `/person/${String(ada.entity_id)}`, undefined, ifMatch(ada))
  t.equal(await rococo.getOne(String(ada.entity_id)), undefined, 'and, like verso, not after verso\'s soft delete')

  // Everything verso keeps for itself lives in verso_* tables.
  const shared = interopModels.flatMap((m) => [ctx.tables(m).main, ctx.tables(m).audit]).sort()
  const tables = await listTables(ctx)
  t.same(tables.filter((name) => !shared.includes(name)).filter((name) => !name.startsWith(`${ctx.prefix}verso_`)), [], 'no table besides the models\' own and verso_*')
  const idempotency = await ctx.scanRaw(`${ctx.prefix}verso_idempotency`)
  t.ok(idempotency.some((row) => row.pk?.S?.endsWith(idempotencyKey) === true), 'the idempotency record is in verso_idempotency')
  const events = await ctx.events(String(first.entity_id))
  t.same(events.map((e) => e.type), ['verso.person.created', 'verso.person.updated', 'verso.person.updated', 'verso.person.deleted', 'verso.person.restored', 'verso.person.deleted'], 'the change events are in verso_outbox')

  // A consumer parses verso's event once (CloudEvents JSON); Rococo's message needs two json.loads.
  t.same(events[0]?.data, first, 'the event data is the version, an object after one parse')
  const rococoBody = rococoMessageBody(loaded!.instance)
  t.type(JSON.parse(rococoBody), 'string', 'Rococo\'s message body parses to a string (JSON text inside JSON)')
  t.same(JSON.parse(JSON.parse(rococoBody) as string), ada)
})
