/**
 * `npm run import -- --model book file.ndjson [--url http://127.0.0.1:3000] [--token …] [--lines-per-request 10000]`:
 * streams an NDJSON file to POST /{model}/_bulk, a request per `--lines-per-request` lines (each request must
 * arrive within the server's REQUEST_TIMEOUT_MS), with a progress line on stderr (lines sent / answers
 * received; redrawn in place on a terminal, every 10 % otherwise). Prints the counts and every failed line;
 * exits 1 when a line failed, 2 on a usage or transport error.
 */
import { createReadStream } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

export interface ImportOptions {
  model: string
  file: string
  url: string
  token?: string
  linesPerRequest: number
  /** Where progress goes; stderr by default. */
  progress?: NodeJS.WritableStream & { isTTY?: boolean }
}

export interface LineFailure { line: number, status: number, problem: Record<string, unknown> }
export interface ImportResult { lines: number, created: number, failed: LineFailure[] }

interface Answer { line?: number, status?: number, problem?: Record<string, unknown>, summary?: { complete: boolean, problem?: Record<string, unknown> } }

/** Streams `file` to the bulk route and collects the answers; line numbers are the file's. */
export async function importFile (options: ImportOptions): Promise<ImportResult> {
  const out = options.progress ?? process.stderr
  const result: ImportResult = { lines: 0, created: 0, failed: [] }
  let sent = 0
  let received = 0
  let lastShown = -1
  const show = (final = false): void => {
    if (out.isTTY === true) {
      out.write(`\r${options.model}: ${sent} lines sent, ${received} answered (${result.created} created, ${result.failed.length} failed)${final ? '\n' : ''}`)
    } else if (final || Math.floor((received / Math.max(sent, 1)) * 10) !== lastShown) {
      lastShown = Math.floor((received / Math.max(sent, 1)) * 10)
      out.write(`${options.model}: ${sent} lines sent, ${received} answered\n`)
    }
  }
  const lines = createInterface({ input: createReadStream(options.file), crlfDelay: Infinity })[Symbol.asyncIterator]()
  let offset = 0
  for (;;) {
    const batch = await send(options, lines, (count) => { sent += count; show() }, (answer) => {
      if (answer.summary !== undefined) {
        if (!answer.summary.complete) throw new Error(`the server stopped reading: ${JSON.stringify(answer.summary.problem)}`)
        return
      }
      received++
      if (answer.status === 201) result.created++
      else result.failed.push({ line: offset + (answer.line ?? 0), status: answer.status ?? 0, problem: answer.problem ?? {} })
      show()
    })
    offset += batch.lines
    result.lines = offset
    if (batch.done) break
  }
  show(true)
  result.failed.sort((a, b) => a.line - b.line)
  return result
}

/** One request: up to linesPerRequest lines (blank ones included, so numbers stay the file's), answers read as they come. */
async function send (options: ImportOptions, lines: AsyncIterator<string>, onSent: (count: number) => void, onAnswer: (answer: Answer) => void): Promise<{ lines: number, done: boolean }> {
  const url = new URL(`/${options.model}/_bulk`, options.url)
  const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }) }
  })
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve)
    request.once('error', reject)
  })
  let count = 0
  let done = false
  const writing = (async () => {
    while (count < options.linesPerRequest) {
      const next = await lines.next()
      if (next.done === true) {
        done = true
        break
      }
      count++
      if (!request.write(`${next.value}\n`)) await new Promise((resolve) => request.once('drain', resolve))
      onSent(1)
    }
    request.end()
  })()
  const res = await response
  if (res.statusCode !== 200) {
    let text = ''
    for await (const chunk of res) text += String(chunk)
    throw new Error(`${url.pathname} answered ${res.statusCode ?? 0}: ${text.slice(0, 500)}`)
  }
  const answers = createInterface({ input: res, crlfDelay: Infinity })
  for await (const text of answers) if (text.trim() !== '') onAnswer(JSON.parse(text) as Answer)
  await writing
  return { lines: count, done }
}

async function main (): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      url: { type: 'string', default: process.env.VERSO_URL ?? 'http://127.0.0.1:3000' },
      token: { type: 'string', default: process.env.VERSO_TOKEN },
      'lines-per-request': { type: 'string', default: '10000' }
    }
  })
  const file = positionals[0]
  const linesPerRequest = Number(values['lines-per-request'])
  if (values.model === undefined || file === undefined || !Number.isInteger(linesPerRequest) || linesPerRequest < 1) {
    process.stderr.write('usage: npm run import -- --model <path> <file.ndjson> [--url http://127.0.0.1:3000] [--token <token>] [--lines-per-request 10000]\n')
    return 2
  }
  const result = await importFile({ model: values.model, file, url: values.url, linesPerRequest, ...(values.token === undefined ? {} : { token: values.token }) })
  process.stdout.write(`${result.lines} lines: ${result.created} created, ${result.failed.length} failed\n`)
  for (const f of result.failed) process.stdout.write(`line ${f.line}: ${f.status} ${String(f.problem.detail ?? f.problem.title ?? '')}\n`)
  return result.failed.length > 0 ? 1 : 0
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => { process.exitCode = code }, (err: unknown) => {
    process.stderr.write(`import failed: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 2
  })
}
