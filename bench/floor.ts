/**
 * The physical floor of a GetItem, for the benchmark's reference line: the same signed HTTP request the SDK
 * sends, made by hand with an undici Pool and SigV4 from node:crypto (signing key cached per day, as the SDK
 * caches it). No retries, no middleware, no endpoint rules, no unmarshalling: what any client must at least do.
 * Not for use outside bench/.
 */
import { createHash, createHmac } from 'node:crypto'
import { Pool } from 'undici'

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')
const hmac = (key: Buffer | string, text: string): Buffer => createHmac('sha256', key).update(text).digest()

export class FloorClient {
  private readonly pool: Pool
  private readonly host: string
  private signingDay = ''
  private signingKey: Buffer = Buffer.alloc(0)

  constructor (endpoint: string, private readonly region: string, private readonly credentials: { accessKeyId: string, secretAccessKey: string }, connections: number) {
    this.pool = new Pool(endpoint, { connections, pipelining: 1 })
    this.host = new URL(endpoint).host
  }

  /** A consistent GetItem of `entity_id` = id; the item as DynamoDB's JSON, undefined when absent. */
  async getItem (table: string, id: string): Promise<unknown> {
    const body = JSON.stringify({ TableName: table, Key: { entity_id: { S: id } }, ConsistentRead: true })
    const res = await this.pool.request({ method: 'POST', path: '/', headers: this.sign('DynamoDB_20120810.GetItem', body), body })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`GetItem ${res.statusCode}: ${text.slice(0, 200)}`)
    return (JSON.parse(text) as { Item?: unknown }).Item
  }

  /** SigV4 (AWS4-HMAC-SHA256) headers for a DynamoDB JSON 1.0 call. */
  private sign (target: string, body: string): Record<string, string> {
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '')
    const day = amzDate.slice(0, 8)
    if (day !== this.signingDay) {
      this.signingDay = day
      this.signingKey = hmac(hmac(hmac(hmac(`AWS4${this.credentials.secretAccessKey}`, day), this.region), 'dynamodb'), 'aws4_request')
    }
    const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0', host: this.host, 'x-amz-date': amzDate, 'x-amz-target': target }
    const signed = 'content-type;host;x-amz-date;x-amz-target'
    const canonical = `POST\n/\n\ncontent-type:${headers['content-type']}\nhost:${this.host}\nx-amz-date:${amzDate}\nx-amz-target:${target}\n\n${signed}\n${sha256(body)}`
    const scope = `${day}/${this.region}/dynamodb/aws4_request`
    const signature = createHmac('sha256', this.signingKey).update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`).digest('hex')
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`
    return headers
  }

  async close (): Promise<void> { await this.pool.close() }
}
