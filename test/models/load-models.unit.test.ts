import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../../src/config/config.js'
import { loadModels, ModelFileError, parseModelFile } from '../../src/models/load-models.js'
import { models as builtIns } from '../../src/models/index.js'
import { thrown } from '../support/thrown.js'

const FILE = 'models/invoice.json'
const INVOICE = JSON.parse(readFileSync('examples/models/invoice.json', 'utf8')) as Record<string, any>

/** The message parseModelFile gives for the example file changed by `change`, without the ConfigError prefix. */
function problem (change: (doc: Record<string, any>) => void): string {
  const doc = structuredClone(INVOICE)
  change(doc)
  const err = thrown(() => parseModelFile(FILE, JSON.stringify(doc)))
  if (!(err instanceof ModelFileError)) throw new Error(`expected a ModelFileError, got ${String(err)}`)
  return err.message.replace('invalid configuration: MODELS_DIR ', '')
}

t.test('the example file gives a model like a TypeScript one', async (t) => {
  const model = parseModelFile(FILE, JSON.stringify(INVOICE))
  t.match(model, { name: 'Invoice', path: 'invoice', tableName: 'invoice', versioned: true, allowExtra: false })
  t.same([...model.jsonFields], ['billing_address'], 'declared objects are JSON text')
  t.same([...model.scalarFields], ['number', 'customer', 'issued_on', 'total', 'currency', 'paid'], 'enums are scalars')
  t.same(model.schema.required, ['number', 'customer', 'total'])
  const extra = parseModelFile(FILE, JSON.stringify({ ...INVOICE, allow_extra: true, versioned: false }))
  t.match(extra, { allowExtra: true, versioned: false }, 'allow_extra (Rococo spelling) and versioned: false')
})

t.test('each problem names the file and a JSON Pointer', async (t) => {
  const err = thrown(() => parseModelFile(FILE, '{"name": "Invoice",'))
  t.ok(err instanceof ConfigError, 'a ModelFileError is a ConfigError: it stops the start the same way')
  t.match(err.message, /^invalid configuration: MODELS_DIR models\/invoice\.json: is not valid JSON \(/, 'bad JSON')
  t.equal(problem((d) => { d.schema.properties.total.type = 'money' }),
    `${FILE}#/schema/properties/total/type: must be one of string, number, integer, boolean, object, array (one type: null and type lists are not supported; leave an optional field out of required instead)`, 'unknown type')
  t.match(problem((d) => { d.schema.properties.total.type = ['number', 'null'] }), `${FILE}#/schema/properties/total/type: must be one of`, 'type lists')
  t.match(problem((d) => { d.schema.properties.total.nullable = true }), `${FILE}#/schema/properties/total/nullable: "nullable" is not supported for a number field (supported: type, title,`, 'unknown keyword')
  t.match(problem((d) => { d.schema.properties.customer.oneOf = [{ type: 'string' }] }), `${FILE}#/schema/properties/customer/oneOf: "oneOf" is not supported for a string field`)
  t.match(problem((d) => { d.schema.properties.lines.items.properties.amount = { $ref: '#/x' } }), `${FILE}#/schema/properties/lines/items/properties/amount: needs a type`, 'nested fields are checked too')
  t.match(problem((d) => { d.schema.properties.total.minimum = 'zero' }), `${FILE}#/schema/properties/total/minimum: must be number`)
  t.match(problem((d) => { d.schema.properties.issued_on.format = 'day' }), `${FILE}#/schema/properties/issued_on/format: must be one of date, time, date-time`, 'unknown format')
  t.match(problem((d) => { d.schema.properties.number.pattern = '([' }), `${FILE}#/schema/properties/number/pattern: is not a valid regular expression`)
  t.equal(problem((d) => { d.schema.properties.currency.enum = ['EUR', 1] }), `${FILE}#/schema/properties/currency/enum: values must be all strings, all numbers or all booleans`)
  t.equal(problem((d) => { d.schema.required.push('due') }), `${FILE}#/schema/required/3: names "due", which is not in properties`)
  t.equal(problem((d) => { d.schema.additionalProperties = true }), `${FILE}#/schema/additionalProperties: must be false or left out: it follows allow_extra`)
  t.match(problem((d) => { d.owner = 'me' }), `${FILE}#/owner: "owner" is not supported in a model file (supported: $schema, name,`, 'unknown member')
  t.equal(problem((d) => { delete d.example }), `${FILE}#/example: is required`)
  t.equal(problem((d) => { d.allowExtra = true }), `${FILE}#/allow_extra: contradicts allowExtra: give one of the two`)
})

t.test('defineModel\'s own checks point into the file', async (t) => {
  t.equal(problem((d) => { d.name = 'In voice' }), `${FILE}#/name: model name "In voice" must be letters and digits, starting with a letter`)
  t.equal(problem((d) => { d.path = 'docs' }), `${FILE}#/path: path "docs" is not allowed`)
  t.equal(problem((d) => { d.schema.properties.version = { type: 'string' } }), `${FILE}#/schema/properties/version: field "version" is managed by verso`, 'reserved: server-managed')
  t.equal(problem((d) => { d.schema.properties.limit = { type: 'integer' } }), `${FILE}#/schema/properties/limit: field name "limit" is reserved for query parameters`, 'reserved: query parameters')
  t.equal(problem((d) => { d.schema.properties['first-name'] = { type: 'string' } }), `${FILE}#/schema/properties/first-name: field name "first-name" is not allowed`)
  t.equal(problem((d) => { d.indexes[0].range = 'lines' }), `${FILE}#/indexes/0/range: index by_customer names "lines", which is not a declared text or number field`, 'bad index field')
  t.equal(problem((d) => { d.indexes[0].hash = 'paid' }), `${FILE}#/indexes/0/hash: index by_customer names "paid", which is not a declared text or number field`)
  t.equal(problem((d) => { d.indexes[0].name = 'ix' }), `${FILE}#/indexes/0/name: index name "ix" must be 3-255 letters, digits, _ . -`)
  t.equal(problem((d) => { d.indexes.push({ name: 'by_customer', hash: 'number' }) }), `${FILE}#/indexes/1/name: index "by_customer" is declared twice`)
  t.equal(problem((d) => { d.example.total = 'a lot' }), `${FILE}#/example/total: must be number`, 'the example must be valid')
})

t.test('MODELS_DIR: every *.json, names, tables and paths unique (also against the built-ins)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'verso-models-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  t.equal(loadModels(undefined), builtIns, 'unset: the built-in models')
  writeFileSync(join(dir, 'README.md'), 'not a model')
  t.same(loadModels(dir).map((m) => m.name), ['Person', 'Book'], 'only .json files are read')
  writeFileSync(join(dir, 'a.json'), JSON.stringify({ ...INVOICE, name: 'BOOK', path: 'books' }))
  t.equal(thrown(() => loadModels(dir)).message, `invalid configuration: MODELS_DIR ${join(dir, 'a.json')}#/name: "BOOK" maps to table book, as the built-in model Book does`)
  writeFileSync(join(dir, 'a.json'), JSON.stringify({ ...INVOICE, name: 'Reader', path: 'book' }))
  t.equal(thrown(() => loadModels(dir)).message, `invalid configuration: MODELS_DIR ${join(dir, 'a.json')}#/path: path /book is taken by the built-in model Book`)
  writeFileSync(join(dir, 'a.json'), JSON.stringify(INVOICE))
  writeFileSync(join(dir, 'b.json'), JSON.stringify({ ...INVOICE, path: 'bills' }))
  t.equal(thrown(() => loadModels(dir)).message, `invalid configuration: MODELS_DIR ${join(dir, 'b.json')}#/name: "Invoice" maps to table invoice, as ${join(dir, 'a.json')} does`, 'two files, one name')
  t.match(thrown(() => loadModels(join(dir, 'nope'))).message, /^invalid configuration: MODELS_DIR cannot be read \(ENOENT\)/)
})
