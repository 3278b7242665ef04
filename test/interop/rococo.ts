import { randomUUID } from 'node:crypto'
import {
  GetItemCommand, PutItemCommand, QueryCommand, TransactionCanceledException, TransactWriteItemsCommand,
  type AttributeValue, type DynamoDBClient
} from '@aws-sdk/client-dynamodb'

/*
 * Rococo's DynamoDB storage, mirrored step by step in TypeScript for the interoperability tests. Python is not
 * available here (PyPI is not reachable), so these helpers follow the source instead; every step names what it
 * mirrors. Sources read (GitHub):
 *
 *   EcorRouge/rococo  rococo/models/versioned_model.py        get_uuid_hex, VersionedModel (Big 6 defaults),
 *                                                             prepare_for_save, as_dict, from_dict
 *   EcorRouge/rococo  rococo/repositories/base_repository.py  table_name = model.__name__.lower(),
 *                                                             use_audit_table = True, save_calculated_fields = False
 *   EcorRouge/rococo  rococo/repositories/dynamodb/dynamodb_repository.py   save, delete, get_one, get_many
 *   EcorRouge/rococo  rococo/data/dynamodb.py                 _map_type_to_attribute, _generate_pynamo_model,
 *                                                             move_entity_to_audit_table, save,
 *                                                             _execute_query_or_scan
 *   EcorRouge/rococo  rococo/messaging/rabbitmq.py, sqs.py    send_message: json.dumps(message)
 *   pynamodb/PynamoDB pynamodb/attributes.py                  UnicodeAttribute, NumberAttribute, BooleanAttribute,
 *                                                             JSONAttribute, ListAttribute, raw MapAttribute,
 *                                                             AttributeContainer._container_serialize /
 *                                                             _container_deserialize / _set_attributes
 *   pynamodb/PynamoDB pynamodb/models.py                      Model.get (consistent_read=False), Model.save (PutItem)
 *
 * Two save paths (RococoRepositoryOptions.savePath):
 *   'documented'  the adapter as Rococo's DynamoDB guide describes it: `save_versioned` reads the current item and
 *                 writes the audit copy and the new version in one TransactWriteItems, on condition
 *                 `version = previous_version`. No such function is in any branch of EcorRouge/rococo read (main
 *                 at 32dd092 and the others): it is the design, kept so verso is tested against it too.
 *   'published'   what main at 32dd092 does: DynamoDbRepository.save calls move_entity_to_audit_table (GetItem of
 *                 the current item, then a plain PutItem of it into the audit table) and then adapter.save (a plain
 *                 PutItem of the new version): three calls, no transaction, no condition. Two writers on the same
 *                 version both succeed; the later put wins and the other update is lost.
 */

type Row = Record<string, AttributeValue>
export type PyValue = unknown
/** An instance of a Rococo model: its dataclass fields by name (datetimes already as isoformat() text). */
export type Instance = Record<string, PyValue>

/** A field's Python annotation, as DynamoDbAdapter._map_type_to_attribute compares it (`field_def.type == int`). */
export type PyType = 'str' | 'int' | 'float' | 'bool' | 'dict' | 'list' | 'datetime'

/** A Rococo model class: `@dataclass class Book(VersionedModel): title: str = None …`. */
export interface RococoModel {
  /** The class name (`Book`); the table is its lower-cased form. */
  name: string
  /** Its own fields (the Big 6 come from VersionedModel). */
  fields: Record<string, PyType>
}

/** versioned_model.py: the dataclass fields of VersionedModel, in declaration order, with their annotations. */
export const BIG_6: Record<string, PyType> = {
  entity_id: 'str',
  version: 'str',
  previous_version: 'str',
  active: 'bool',
  changed_by_id: 'str',
  changed_on: 'datetime'
}
/** versioned_model.py BIG_6_UUID_FIELDS: from_dict passes these through UUID(v).hex. */
export const BIG_6_UUID_FIELDS = ['entity_id', 'version', 'previous_version', 'changed_by_id']

/** versioned_model.py get_uuid_hex: `uuid4().hex`, or `UUID(int=_int, version=4).hex` when given an int. */
export function getUuidHex (int?: 0): string {
  // UUID(int=0, version=4) sets the version nibble to 4 and the variant bits to 10: 0000…4000 8000…0000.
  return int === 0 ? '00000000000040008000000000000000' : randomUUID().replaceAll('-', '')
}

/** base_repository.py: `self.table_name = model.__name__.lower()`. Rococo has no prefix; the tests isolate with one. */
export const rococoTableName = (model: RococoModel, prefix = ''): string => `${prefix}${model.name.toLowerCase()}`

// ---------------------------------------------------------------------------------------------------------------
// Python value formatting

/**
 * datetime.isoformat() of an aware UTC datetime (`datetime.now(timezone.utc)`, versioned_model.py
 * default_datetime / prepare_for_save): `YYYY-MM-DDTHH:MM:SS`, `.ffffff` only when the microseconds are not 0,
 * then `+00:00`.
 */
export function pyIsoformat (micros: number): string {
  const seconds = Math.floor(micros / 1_000_000)
  const fraction = micros - seconds * 1_000_000
  const base = new Date(seconds * 1000).toISOString().slice(0, 19)
  return `${base}${fraction === 0 ? '' : '.' + String(fraction).padStart(6, '0')}+00:00`
}

/** Now in microseconds, as Python's clock has them (JavaScript's has milliseconds: the rest is made up). */
export const nowMicros = (): number => Date.now() * 1000 + Math.floor(Math.random() * 1000)

/**
 * dateutil.parser.isoparse as from_dict (`_try_convert_datetime`) uses it on changed_on: the ISO 8601 forms
 * Rococo can meet. Returns microseconds since the epoch and whether the time had an offset, or undefined where
 * isoparse raises (from_dict then logs and keeps the text).
 */
export function isoparse (text: string): { micros: number, aware: boolean } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(text)
  if (m === null) return undefined
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  if (Number.isNaN(ms) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined
  let offset = 0
  if (zone !== undefined && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '')
    offset = (zone.startsWith('-') ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'))
  }
  return { micros: (ms - offset * 60_000) * 1000 + Number(frac.slice(0, 6).padEnd(6, '0')), aware: zone !== undefined }
}

/**
 * json.dumps with its defaults, as JSONAttribute.serialize and NumberAttribute.serialize call it: `", "` and
 * `": "` as separators, ensure_ascii (every non-ASCII UTF-16 unit as a lowercase `\uXXXX`), keys in insertion
 * order. Numbers are written as Python writes an int or a float with the same value.
 */
export function pyJsonDumps (value: PyValue): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('json.dumps writes NaN/Infinity, which no JSON reader accepts: not modelled')
    return String(value)
  }
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(', ')}]`
  if (typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${pyJsonDumps(k)}: ${pyJsonDumps(v)}`).join(', ')}}`
  throw new Error(`json.dumps cannot write ${typeof value}`)
}

/** json.loads: any JSON text (PynamoDB's NumberAttribute and JSONAttribute deserialize with it). */
const jsonLoads = (text: string): PyValue => JSON.parse(text) as PyValue

// ---------------------------------------------------------------------------------------------------------------
// PynamoDB attributes

/** The PynamoDB attribute class a field becomes, and the DynamoDB type it stores. */
export type AttributeKind = 'UnicodeAttribute' | 'NumberAttribute' | 'BooleanAttribute' | 'JSONAttribute' | 'ListAttribute'
export const STORED_AS: Record<AttributeKind, 'S' | 'N' | 'BOOL' | 'L'> = {
  UnicodeAttribute: 'S',
  NumberAttribute: 'N',
  BooleanAttribute: 'BOOL',
  JSONAttribute: 'S',
  ListAttribute: 'L'
}

/** data/dynamodb.py _map_type_to_attribute: bool, int/float, dict, list; anything else (str, datetime) → Unicode. */
export function attributeFor (type: PyType): AttributeKind {
  if (type === 'bool') return 'BooleanAttribute'
  if (type === 'int' || type === 'float') return 'NumberAttribute'
  if (type === 'dict') return 'JSONAttribute'
  if (type === 'list') return 'ListAttribute'
  return 'UnicodeAttribute'
}

/**
 * data/dynamodb.py _generate_pynamo_model: `entity_id` (hash key; with `version` as range key for the audit
 * table), then every dataclass field of the model (the Big 6, then the model's own) through
 * _map_type_to_attribute, all with null=True. (`extra` and the `_is_partial` InitVar are dataclass fields too,
 * mapped to UnicodeAttribute, but as_dict never exports them, so they are never written.)
 */
export function pynamoAttributes (model: RococoModel): Map<string, AttributeKind> {
  const attributes = new Map<string, AttributeKind>()
  for (const [name, type] of Object.entries({ ...BIG_6, ...model.fields })) attributes.set(name, attributeFor(type))
  return attributes
}

/** ListAttribute (no `of`) and a raw MapAttribute serialize each element by its Python type (SERIALIZE_CLASS_MAP). */
function serializeUntyped (value: PyValue): AttributeValue {
  if (value === null || value === undefined) return { NULL: true } // NullAttribute
  if (typeof value === 'string') return { S: value }
  if (typeof value === 'number') return { N: pyJsonDumps(value) }
  if (typeof value === 'boolean') return { BOOL: value }
  if (Array.isArray(value)) return { L: value.map(serializeUntyped) }
  if (typeof value === 'object') return { M: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, serializeUntyped(v)])) }
  throw new Error(`PynamoDB cannot serialize ${typeof value}`)
}

/** `Attribute.serialize`; undefined where `_container_serialize` leaves the attribute out (None, null=True). */
export function serializeAttribute (kind: AttributeKind, value: PyValue): AttributeValue | undefined {
  if (value === null || value === undefined) return undefined
  switch (kind) {
    case 'UnicodeAttribute':
      // No serialize of its own: the value goes to botocore, whose validation refuses anything but str for S.
      if (typeof value !== 'string') throw new Error(`botocore: S must be str, got ${typeof value}`)
      return { S: value }
    case 'NumberAttribute': return { N: pyJsonDumps(value) }
    case 'BooleanAttribute': return { BOOL: Boolean(value) }
    case 'JSONAttribute': return { S: pyJsonDumps(value) }
    case 'ListAttribute':
      if (!Array.isArray(value)) throw new Error('ListAttribute: not a list')
      return { L: value.map(serializeUntyped) }
  }
}

/** DESERIALIZE_CLASS_MAP: how an untyped list element or raw map value is read back. */
function deserializeUntyped (value: AttributeValue): PyValue {
  const [type, raw] = Object.entries(value)[0] ?? []
  switch (type) {
    case 'S': return raw as string
    case 'N': return jsonLoads(raw as string)
    case 'BOOL': return Boolean(raw)
    case 'NULL': return null
    case 'L': return (raw as AttributeValue[]).map(deserializeUntyped)
    case 'M': return Object.fromEntries(Object.entries(raw as Row).map(([k, v]) => [k, deserializeUntyped(v)]))
    case 'SS': return new Set(raw as string[])
    case 'NS': return new Set((raw as string[]).map(jsonLoads))
    default: throw new Error(`PynamoDB cannot deserialize ${String(type)}`)
  }
}

/** `Attribute.get_value` + `deserialize`; get_value raises AttributeDeserializationError on any other type. */
export function deserializeAttribute (name: string, kind: AttributeKind, value: AttributeValue): PyValue {
  const type = STORED_AS[kind]
  const raw = (value as unknown as Record<string, unknown>)[type]
  if (raw === undefined) throw new Error(`AttributeDeserializationError: ${name} is not of type ${type}: ${JSON.stringify(value)}`)
  switch (kind) {
    case 'UnicodeAttribute': return raw as string
    case 'NumberAttribute': return jsonLoads(raw as string)
    case 'BooleanAttribute': return Boolean(raw)
    case 'JSONAttribute':
      try {
        return jsonLoads(raw as string) // json.loads(value, strict=False)
      } catch {
        throw new Error(`json.decoder.JSONDecodeError: ${name} holds ${JSON.stringify(raw)}`)
      }
    case 'ListAttribute': return (raw as AttributeValue[]).map(deserializeUntyped)
  }
}

/** `pynamo_model(**data)` then `_container_serialize`: an attribute the model lacks is a ValueError. */
export function toPynamoItem (model: RococoModel, data: Instance): Row {
  const attributes = pynamoAttributes(model)
  const item: Row = {}
  for (const [name, value] of Object.entries(data)) {
    const kind = attributes.get(name)
    if (kind === undefined) throw new Error(`ValueError: Attribute ${name} specified does not exist`)
    const stored = serializeAttribute(kind, value)
    if (stored !== undefined) item[name] = stored
  }
  return item
}

/** `_container_deserialize`: the declared attributes only (others in the item are ignored); NULL counts as absent. */
export function fromPynamoItem (model: RococoModel, item: Row): { values: Instance, ignored: string[] } {
  const attributes = pynamoAttributes(model)
  const values: Instance = {}
  for (const [name, kind] of attributes) {
    const stored = item[name]
    if (stored === undefined || 'NULL' in stored) continue
    values[name] = deserializeAttribute(name, kind, stored)
  }
  return { values, ignored: Object.keys(item).filter((name) => !attributes.has(name)) }
}

// ---------------------------------------------------------------------------------------------------------------
// The reader: how a Rococo service loads an item into its model

/** Python's UUID(hex).hex: urn:/uuid:/braces/dashes stripped, then exactly 32 hex digits; ValueError otherwise. */
export function pyUuidHex (value: string): string | undefined {
  const hex = value.replace('urn:', '').replace('uuid:', '').replace(/^\{+|\}+$/g, '').replaceAll('-', '')
  return /^[0-9a-fA-F]{32}$/.test(hex) ? hex.toLowerCase() : undefined
}

export interface Loaded {
  /** The model instance's fields as from_dict builds them (changed_on kept as its text, checked by isoparse). */
  instance: Instance
  /** Attributes of the item the model does not declare: PynamoDB skips them. */
  ignored: string[]
  /** What from_dict only logs and keeps (`'…' is not a valid UUID`, a changed_on isoparse refuses). */
  warnings: string[]
}

/**
 * An item as DynamoDbRepository.get_one / get_many hand it to the model: adapter → `item.attribute_values`
 * (PynamoDB deserialization, which throws on a wrongly typed attribute), then VersionedModel.from_dict (UUID
 * fields through UUID(v).hex, datetime fields through isoparse, both only logged when they fail).
 */
export function loadRococo (model: RococoModel, item: Row): Loaded {
  const { values, ignored } = fromPynamoItem(model, item)
  const warnings: string[] = []
  const types = { ...BIG_6, ...model.fields }
  for (const [name, value] of Object.entries(values)) {
    if (BIG_6_UUID_FIELDS.includes(name)) {
      if (!value) continue // `if not v`: falsy values stay
      const hex = typeof value === 'string' ? pyUuidHex(value) : undefined
      if (hex === undefined) warnings.push(`'${String(value)}' is not a valid UUID. (${name})`)
      else values[name] = hex
    } else if (types[name] === 'datetime' && typeof value === 'string' && isoparse(value) === undefined) {
      warnings.push(`${name}: isoparse cannot read '${value}'`)
    }
  }
  return { instance: values, ignored, warnings }
}

// ---------------------------------------------------------------------------------------------------------------
// The writer: DynamoDbRepository over DynamoDbAdapter

/** data/dynamodb.py DynamoDbOptimisticLockError. */
export class RococoOptimisticLockError extends Error {
  override name = 'DynamoDbOptimisticLockError'
}

export interface RococoRepositoryOptions {
  /** Test isolation only: Rococo itself has no prefix. */
  prefix: string
  /** DynamoDbRepository(user_id=…); None leaves changed_by_id at its default, the zero id. */
  userId?: string
  /** user_id given as a uuid.UUID: as_dict(convert_uuids=True) writes str(UUID), with dashes. */
  userIdIsUuidObject?: boolean
  /** The clock of `datetime.now(timezone.utc)`, in microseconds. */
  clock?: () => number
  /** Which Rococo saves (see the top of this file); 'documented' by default. */
  savePath?: 'documented' | 'published'
}

/** Where a test may act in the middle of a published save: after its GetItem of the current item, before its puts. */
export interface SaveSteps {
  afterRead?: () => Promise<void>
}

/** DynamoDbRepository (dynamodb_repository.py) with DynamoDbAdapter (data/dynamodb.py), for a VersionedModel. */
export class RococoRepository {
  readonly table: string
  readonly auditTable: string

  constructor (private readonly client: DynamoDBClient, readonly model: RococoModel, private readonly options: RococoRepositoryOptions) {
    this.table = rococoTableName(model, options.prefix)
    this.auditTable = `${this.table}_audit`
  }

  /**
   * `Model(**fields)`: the dataclass defaults of VersionedModel for whatever is not given. (Its changed_on
   * default is read from the real clock: prepare_for_save replaces it before anything is written.)
   */
  newInstance (fields: Instance): Instance {
    const own = Object.fromEntries(Object.keys(this.model.fields).map((name) => [name, null]))
    return {
      entity_id: getUuidHex(),
      version: getUuidHex(0),
      previous_version: null,
      active: true,
      changed_by_id: getUuidHex(0),
      changed_on: pyIsoformat(nowMicros()),
      ...own,
      ...fields
    }
  }

  /** dynamodb_repository.py save(): _process_data_before_save, then the adapter's save path, then hydrate. */
  async save (instance: Instance, steps: SaveSteps = {}): Promise<Instance> {
    const payload = this.processDataBeforeSave(instance)
    Object.assign(instance, await this.write(instance, payload, steps))
    return instance
  }

  /** dynamodb_repository.py delete(): prepare_for_save, `active = False`, as_dict, then the adapter's save path. */
  async delete (instance: Instance, steps: SaveSteps = {}): Promise<Instance> {
    this.prepareForSave(instance)
    instance.active = false
    Object.assign(instance, await this.write(instance, this.asDict(instance), steps))
    return instance
  }

  private async write (instance: Instance, payload: Instance, steps: SaveSteps): Promise<Instance> {
    if (this.options.savePath !== 'published') return await this.saveVersioned(payload)
    // use_audit_table is True: `if previous_version and previous_version != get_uuid_hex(0)`.
    const previous = instance.previous_version
    if (typeof previous === 'string' && previous !== '' && previous !== getUuidHex(0)) await this.moveEntityToAuditTable(String(payload.entity_id), steps)
    return await this.plainSave(payload)
  }

  /**
   * data/dynamodb.py move_entity_to_audit_table: `pynamo_model.get(entity_id)` (GetItem, consistent_read=False),
   * `pynamo_audit_model(**item.attribute_values).save()` (PutItem, no condition); DoesNotExist is ignored. What
   * it copies is whatever is current when it reads, not the version the instance was based on.
   */
  private async moveEntityToAuditTable (entityId: string, steps: SaveSteps): Promise<void> {
    const { Item: current } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { entity_id: { S: entityId } }, ConsistentRead: false }))
    await steps.afterRead?.()
    if (current === undefined) return
    const { values } = fromPynamoItem(this.model, current)
    await this.client.send(new PutItemCommand({ TableName: this.auditTable, Item: toPynamoItem(this.model, values) }))
  }

  /** data/dynamodb.py save: `pynamo_model(**data).save()`, a PutItem with no condition; returns attribute_values. */
  private async plainSave (data: Instance): Promise<Instance> {
    const item = toPynamoItem(this.model, data)
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: item }))
    return fromPynamoItem(this.model, item).values
  }

  /**
   * dynamodb_repository.py get_one({'entity_id': id}): `active: True` is added to the conditions; the adapter
   * sees the hash key and runs `query(entity_id, filter_condition=active == True, limit=1)`, paging until an
   * item passes the filter; the item goes through from_dict.
   */
  async getOne (entityId: string): Promise<Loaded | undefined> {
    let start: Row | undefined
    do {
      const page = await this.client.send(new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: '#entity_id = :entity_id',
        FilterExpression: '#active = :active',
        ExpressionAttributeNames: { '#entity_id': 'entity_id', '#active': 'active' },
        ExpressionAttributeValues: { ':entity_id': { S: entityId }, ':active': { BOOL: true } },
        Limit: 1,
        ExclusiveStartKey: start
      }))
      const item = page.Items?.[0]
      if (item !== undefined) return loadRococo(this.model, item)
      start = page.LastEvaluatedKey
    } while (start !== undefined)
    return undefined
  }

  /**
   * versioned_model.py prepare_for_save(changed_by_id): a missing entity_id is generated; previous_version takes
   * the current version (the zero id when there is none); a new uuid4 version; changed_on = now (UTC, aware);
   * changed_by_id = the repository's user_id when one is set.
   */
  private prepareForSave (instance: Instance): void {
    if (!instance.entity_id) instance.entity_id = getUuidHex()
    instance.previous_version = instance.version ? instance.version : getUuidHex(0)
    instance.version = getUuidHex()
    instance.changed_on = pyIsoformat(this.now())
    if (this.options.userId) instance.changed_by_id = this.options.userId
  }

  /**
   * versioned_model.py as_dict(convert_datetime_to_iso_string=True, convert_uuids=True, export_properties=False):
   * the dataclass fields (not `extra`, which is empty here), datetimes as isoformat() (changed_on is kept as
   * that text already), a uuid.UUID as str(UUID).
   */
  private asDict (instance: Instance): Instance {
    const data: Instance = {}
    for (const name of Object.keys({ ...BIG_6, ...this.model.fields })) data[name] = instance[name] ?? null
    if (this.options.userIdIsUuidObject === true && this.options.userId !== undefined && data.changed_by_id === this.options.userId) {
      const hex = this.options.userId
      data.changed_by_id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    }
    return data
  }

  private processDataBeforeSave (instance: Instance): Instance {
    this.prepareForSave(instance)
    return this.asDict(instance)
  }

  /**
   * The documented adapter's save_versioned (see the top of this file): a first version (previous_version None
   * or the zero id) is one conditional put (`entity_id` does not exist). Otherwise the current item is read
   * (consistent read); it must exist and carry `version == previous_version`; it is re-created from its
   * attribute_values as an audit item and both go in one transaction: audit put if entity_id and version do not
   * exist, main put if `version = previous_version`. A failed condition is DynamoDbOptimisticLockError.
   * Returns `item.attribute_values`.
   */
  private async saveVersioned (data: Instance): Promise<Instance> {
    if (!data.entity_id) throw new Error("save_versioned failed: 'entity_id' is required in data")
    if (!data.version) throw new Error("save_versioned failed: 'version' is required in data")
    const item = toPynamoItem(this.model, data)
    const previous = data.previous_version
    const transaction: Array<Record<string, unknown>> = []
    if (previous === null || previous === undefined || previous === getUuidHex(0)) {
      transaction.push({ Put: { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists (#0)', ExpressionAttributeNames: { '#0': 'entity_id' } } })
    } else {
      const { Item: current } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { entity_id: { S: String(data.entity_id) } }, ConsistentRead: true }))
      if (current === undefined) throw new RococoOptimisticLockError(`Cannot update missing DynamoDB entity_id=${String(data.entity_id)}`)
      const { values } = fromPynamoItem(this.model, current)
      if (values.version !== previous) throw new RococoOptimisticLockError(`Version conflict for entity_id=${String(data.entity_id)}: expected ${String(previous)}, found ${String(values.version)}`)
      transaction.push(
        { Put: { TableName: this.auditTable, Item: toPynamoItem(this.model, values), ConditionExpression: '(attribute_not_exists (#0) AND attribute_not_exists (#1))', ExpressionAttributeNames: { '#0': 'entity_id', '#1': 'version' } } },
        { Put: { TableName: this.table, Item: item, ConditionExpression: '#0 = :0', ExpressionAttributeNames: { '#0': 'version' }, ExpressionAttributeValues: { ':0': { S: String(previous) } } } }
      )
    }
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: transaction }))
    } catch (err) {
      if (err instanceof TransactionCanceledException && (err.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed')) {
        throw new RococoOptimisticLockError(`Version conflict while saving entity_id=${String(data.entity_id)} to ${this.table}`)
      }
      throw err
    }
    return fromPynamoItem(this.model, item).values
  }

  private now (): number {
    return (this.options.clock ?? nowMicros)()
  }
}

/**
 * The body of the message DynamoDbRepository.save(send_message=True) publishes: the repository calls
 * `send_message(queue, json.dumps(instance.as_dict(...)))` and the adapters (messaging/rabbitmq.py, sqs.py)
 * `json.dumps(message)` again, so the body is a JSON string holding JSON text.
 */
export const rococoMessageBody = (instance: Instance): string => pyJsonDumps(pyJsonDumps(instance))
