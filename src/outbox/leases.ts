import {
  ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand, type DynamoDBClient
} from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import { scanAll } from '../storage/scan.js'

export interface LeaseOptions {
  client: DynamoDBClient
  table: string
  relayId: string
  shards: number
  leaseMs: number
}

export interface Lease {
  /** Fencing counter: grows by one every time the shard changes hands. */
  fence: number
  expiresAt: number
}

export interface Rebalance {
  acquired: number[]
  lost: number[]
  /** Shards this relay holds beyond its fair share: the caller stops working them, then releases them. */
  surplus: number[]
  liveRelays: number
}

const shardKey = (shard: number): string => `shard#${String(shard).padStart(4, '0')}`
const relayKey = (relayId: string): string => `relay#${relayId}`

/**
 * Shard leases shared by every relay through conditional writes on one small table. Each relay keeps a
 * heartbeat item; a relay's fair share is ceil(shards / live relays). A lease is taken only when it is free
 * or expired (the fencing counter grows), renewed only by its owner, and a dead relay's leases are taken over
 * once they expire. Expiry times come from each relay's own clock: keep clock skew well under RELAY_LEASE_MS.
 */
export class ShardLeases {
  readonly owned = new Map<number, Lease>()
  private readonly options: LeaseOptions

  constructor (options: LeaseOptions) {
    this.options = options
  }

  /** True while this relay holds the shard with at least a third of the lease left: safe to start a batch. */
  canWork (shard: number, now = Date.now()): boolean {
    const lease = this.owned.get(shard)
    return lease !== undefined && lease.expiresAt - now > this.options.leaseMs / 3
  }

  /** Heartbeat, renew what is held, take a fair share of what is free or expired. */
  async rebalance (now = Date.now()): Promise<Rebalance> {
    const { client, table, relayId, shards, leaseMs } = this.options
    await client.send(new PutItemCommand({
      TableName: table,
      Item: { lease: { S: relayKey(relayId) }, expires_at: { N: String(now + leaseMs) }, ttl: { N: String(Math.ceil((now + 10 * leaseMs) / 1000)) } }
    }))
    const items = await this.readAll()
    const liveRelays = Math.max(1, items.filter((i) => String(i.lease).startsWith('relay#') && Number(i.expires_at) > now).length)
    const fair = Math.ceil(shards / liveRelays)

    const lost: number[] = []
    for (const shard of [...this.owned.keys()]) {
      if (!(await this.write(shard, now, 'renew'))) {
        this.owned.delete(shard)
        lost.push(shard)
      }
    }
    const acquired: number[] = []
    const leases = new Map(items.filter((i) => String(i.lease).startsWith('shard#')).map((i) => [String(i.lease), i]))
    for (let shard = 0; shard < shards && this.owned.size < fair; shard++) {
      if (this.owned.has(shard)) continue
      const lease = leases.get(shardKey(shard))
      if (lease !== undefined && lease.owner !== undefined && Number(lease.expires_at) > now) continue
      if (await this.write(shard, now, 'acquire')) acquired.push(shard)
    }
    const surplus = [...this.owned.keys()].sort((a, b) => b - a).slice(0, Math.max(0, this.owned.size - fair))
    return { acquired, lost, surplus, liveRelays }
  }

  /** Gives a shard up at once (its lease expires now), so another relay can take it without waiting. */
  async release (shard: number): Promise<void> {
    if (!this.owned.delete(shard)) return
    const { client, table, relayId } = this.options
    try {
      await client.send(new UpdateItemCommand({
        TableName: table,
        Key: { lease: { S: shardKey(shard) } },
        UpdateExpression: 'REMOVE #owner SET expires_at = :zero',
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':me': { S: relayId }, ':zero': { N: '0' } }
      }))
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err
    }
  }

  /** Releases every shard and ends the heartbeat: a clean stop hands the shards over at once. */
  async releaseAll (): Promise<void> {
    await Promise.all([...this.owned.keys()].map(async (shard) => { await this.release(shard) }))
    const { client, table, relayId } = this.options
    await client.send(new PutItemCommand({ TableName: table, Item: { lease: { S: relayKey(relayId) }, expires_at: { N: '0' }, ttl: { N: String(Math.ceil(Date.now() / 1000)) } } }))
  }

  private async write (shard: number, now: number, mode: 'acquire' | 'renew'): Promise<boolean> {
    const { client, table, relayId, leaseMs } = this.options
    const expiresAt = now + leaseMs
    try {
      const result = await client.send(new UpdateItemCommand({
        TableName: table,
        Key: { lease: { S: shardKey(shard) } },
        UpdateExpression: mode === 'acquire'
          ? 'SET #owner = :me, expires_at = :exp, fence = if_not_exists(fence, :zero) + :one'
          : 'SET expires_at = :exp',
        ConditionExpression: mode === 'acquire'
          ? 'attribute_not_exists(#owner) OR expires_at < :now OR #owner = :me'
          : '#owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: {
          ':me': { S: relayId },
          ':exp': { N: String(expiresAt) },
          ...(mode === 'acquire' ? { ':now': { N: String(now) }, ':zero': { N: '0' }, ':one': { N: '1' } } : {})
        },
        ReturnValues: 'ALL_NEW'
      }))
      this.owned.set(shard, { fence: Number(result.Attributes?.fence?.N ?? 0), expiresAt })
      return true
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false
      throw err
    }
  }

  /** The lease table is tiny (one item per shard and per relay): a Scan is the right read here. */
  private async readAll (): Promise<Array<Record<string, unknown>>> {
    return (await scanAll(this.options.client, this.options.table)).map((i) => unmarshall(i))
  }
}
