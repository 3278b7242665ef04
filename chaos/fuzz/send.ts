import { connect } from 'node:net'
import { errors, type Dispatcher } from 'undici'

/** One hostile request: sent through undici, or as raw bytes on a fresh socket when undici would refuse it. */
export interface HostileRequest {
  /** Which case or generator made it; named in counter-examples. */
  label: string
  method: string
  path: string
  headers?: Record<string, string | string[]>
  body?: string | Buffer
  /** Bytes written as they are on a fresh socket (malformed HTTP); method and path then only describe them. */
  raw?: string | Buffer
  /** Close our side after writing the raw bytes (a body shorter than its Content-Length). */
  halfClose?: boolean
  /**
   * Not a request at all (no request line): the server may close the connection without an answer, on purpose
   * and promptly. A client timer that fires still counts as no answer.
   */
  mayCloseWithoutAnswer?: boolean
  /** What a hand-written case must be answered with, e.g. 400 or [400, 404]. */
  expect?: number | number[]
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/**
 * How an exchange without an answer ended: `closed`, the server ended the connection (FIN or reset) before the
 * client gave up; `timeout`, the client's timer fired first (the server never answered).
 */
export type Ending = 'closed' | 'timeout'

export type Outcome = { answer: Answer } | { failure: string, ending: Ending }

const MAX_BODY_KEPT = 256 * 1024

/** Sends a request and reads the whole answer, within `timeoutMs`. Never throws. */
export async function send (client: Dispatcher, origin: string, request: HostileRequest, timeoutMs: number): Promise<Outcome> {
  if (request.raw !== undefined) return await sendRaw(origin, request.raw, request.halfClose === true, timeoutMs)
  try {
    const res = await client.request({
      method: request.method as Dispatcher.HttpMethod,
      path: request.path,
      headers: request.headers ?? {},
      ...(request.body === undefined ? {} : { body: request.body }),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      // Also bounds the time spent queued for a connection, which the two timeouts above do not.
      signal: AbortSignal.timeout(timeoutMs)
    })
    const body = await res.body.text()
    return { answer: { status: res.statusCode, headers: res.headers, body: body.slice(0, MAX_BODY_KEPT) } }
  } catch (err) {
    // undici refuses some headers and paths before sending anything: send those bytes ourselves.
    if (err instanceof errors.InvalidArgumentError) return await sendRaw(origin, rawRequest(request), false, timeoutMs)
    const timedOut = err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return { failure: err instanceof Error ? `${err.name}: ${err.message}` : String(err), ending: timedOut ? 'timeout' : 'closed' }
  }
}

/** The request as HTTP/1.1 bytes, with Connection: close so the answer ends with the connection. */
export function rawRequest (request: Pick<HostileRequest, 'method' | 'path' | 'headers' | 'body'>): Buffer {
  const lines = [`${request.method} ${request.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close']
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`)
  }
  const body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body)
  if (request.body !== undefined) lines.push(`Content-Length: ${body.length}`)
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body])
}

async function sendRaw (origin: string, bytes: string | Buffer, halfClose: boolean, timeoutMs: number): Promise<Outcome> {
  const { hostname, port } = new URL(origin)
  return await new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    const socket = connect(Number(port), hostname, () => {
      socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, () => { if (halfClose) socket.end() })
    })
    const finish = (ending: Ending): void => {
      clearTimeout(timer)
      socket.destroy()
      const answer = parseAnswer(Buffer.concat(chunks))
      if (answer !== undefined) resolve({ answer })
      else resolve({ failure: ending === 'timeout' ? 'no answer before the client gave up' : size === 0 ? 'closed without an answer' : 'closed after an unreadable answer', ending })
    }
    const timer = setTimeout(() => { finish('timeout') }, timeoutMs)
    socket.on('data', (chunk: Buffer) => {
      if (size < MAX_BODY_KEPT) chunks.push(chunk)
      size += chunk.length
      // A whole answer is an answer, whether or not the server keeps the connection open after it.
      if (size < MAX_BODY_KEPT && parseAnswer(Buffer.concat(chunks), true) !== undefined) finish('closed')
    })
    // The server may answer (413, 400) and close while we are still writing: keep what it said.
    socket.on('error', () => {})
    socket.on('close', () => { finish('closed') })
  })
}

/**
 * The first HTTP/1.1 answer in `data` (Content-Length or chunked body), or undefined. `whole`: only when its
 * body has arrived in full (a body without a length ends with the connection, so it is never whole before).
 */
export function parseAnswer (data: Buffer, whole = false): Answer | undefined {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [statusLine = '', ...fields] = data.subarray(0, end).toString('latin1').split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)
  if (m === null) return undefined
  // 100 Continue is an interim answer: the final one follows.
  if (m[1]?.startsWith('1') === true) return parseAnswer(data.subarray(end + 4), whole)
  const headers: Record<string, string> = {}
  for (const field of fields) {
    const colon = field.indexOf(':')
    if (colon > 0) headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim()
  }
  let body = data.subarray(end + 4)
  if (headers['content-length'] !== undefined) {
    if (whole && body.length < Number(headers['content-length'])) return undefined
    body = body.subarray(0, Number(headers['content-length']))
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    if (whole && !body.includes('\r\n0\r\n\r\n') && !body.subarray(0, 5).equals(Buffer.from('0\r\n\r\n'))) return undefined
    body = dechunk(body)
  } else if (whole) return undefined
  return { status: Number(m[1]), headers, body: body.toString('utf8') }
}

function dechunk (data: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = data.indexOf('\r\n', at)
    const size = eol < 0 ? 0 : parseInt(data.subarray(at, eol).toString('latin1'), 16)
    if (!(size > 0)) break
    parts.push(data.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
  return Buffer.concat(parts)
}
