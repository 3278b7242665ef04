import { TransactionCanceledException } from '@aws-sdk/client-dynamodb'
import { itemTooLarge, serviceUnavailable, storageTimeout, unstorableValue, VersoError } from '../errors.js'

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])
const UNAVAILABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'ServiceUnavailable', 'InternalServerError', 'ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'TransactionInProgressException'])

/**
 * Turns the DynamoDB failures a client can cause or must wait out into domain errors; anything else
 * (a bug, a missing table, bad credentials) is rethrown unchanged and becomes a logged 500.
 */
export function mapStorageError (err: unknown): unknown {
  if (err instanceof VersoError || err instanceof TransactionCanceledException) return err
  const e = err as { name?: string, code?: string, message?: string, $metadata?: { httpStatusCode?: number } }
  // Only a request's deadline aborts a call (boundedSender).
  if (e.name === 'AbortError') return storageTimeout()
  if (e.name === 'ValidationException') {
    const message = e.message ?? ''
    if (/size/i.test(message) && /(exceed|maximum|limit)/i.test(message)) return itemTooLarge()
    if (/number|numeric|attribute name|nest/i.test(message)) return unstorableValue()
    return err
  }
  if ((e.code !== undefined && UNAVAILABLE_CODES.has(e.code)) || (e.name !== undefined && UNAVAILABLE_NAMES.has(e.name)) ||
    (e.$metadata?.httpStatusCode !== undefined && e.$metadata.httpStatusCode >= 500)) {
    return serviceUnavailable()
  }
  return err
}

/** Awaits a DynamoDB call and turns its failure into a domain error where mapStorageError knows one. */
export async function guarded<T> (call: Promise<T>): Promise<T> {
  try {
    return await call
  } catch (err) {
    throw mapStorageError(err)
  }
}
