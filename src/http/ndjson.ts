import type { Readable } from 'node:stream'
import { bodyTooLarge } from '../errors.js'

/** One line of an NDJSON body, numbered from 1: its text, or `tooLong` when it outgrew the line limit. */
export type NdjsonLine = { line: number, text: string } | { line: number, tooLong: true }

const NEWLINE = 0x0a

/**
 * The lines of a byte stream as they arrive, without holding more than one line: a line longer than
 * `maxLineBytes` is reported as too long and its bytes are dropped, not kept. Blank lines are skipped but
 * counted, so numbers are the file's line numbers. Throws 413 once the stream passes `maxBytes` in all.
 */
export async function * ndjsonLines (stream: Readable, maxLineBytes: number, maxBytes: number): AsyncGenerator<NdjsonLine> {
  let parts: Buffer[] = []
  let length = 0
  let tooLong = false
  let line = 0
  let total = 0
  const end = (): NdjsonLine | undefined => {
    line++
    const text = tooLong ? '' : Buffer.concat(parts, length).toString('utf8').trim()
    const result: NdjsonLine | undefined = tooLong ? { line, tooLong } : text === '' ? undefined : { line, text }
    parts = []
    length = 0
    tooLong = false
    return result
  }
  const take = (chunk: Buffer): void => {
    if (tooLong) return
    if (length + chunk.length > maxLineBytes) {
      tooLong = true
      parts = []
      length = 0
      return
    }
    parts.push(chunk)
    length += chunk.length
  }
  // Counted line by line, so the lines within the limit are read even when they arrive with the excess.
  const count = (bytes: number): void => {
    total += bytes
    if (total > maxBytes) throw bodyTooLarge(maxBytes)
  }
  // Leaving early (past the limit, or the consumer stopped) must not destroy the request: its socket carries the answer.
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    let start = 0
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, start)) {
      count(at + 1 - start)
      take(chunk.subarray(start, at))
      start = at + 1
      const result = end()
      if (result !== undefined) yield result
    }
    count(chunk.length - start)
    if (start < chunk.length) take(chunk.subarray(start))
  }
  if (length > 0 || tooLong) {
    const result = end()
    if (result !== undefined) yield result
  }
}
