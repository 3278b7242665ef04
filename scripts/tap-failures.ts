/**
 * The failed assertions of a TAP stream, for the end of `npm test`: CI keeps only the tail of a long log, and
 * a run of 12,000 assertions with one failure must say which one without the whole log. tap-parser reads
 * the stream; a failed subtest is left out when a failure inside it is already listed.
 */
import { Parser, type Result } from 'tap-parser'
import { stringify } from 'yaml'

const DIAGNOSTIC_LINES = 20

/** What tap puts in a failure's YAML block; the stack and the source excerpt are left to the full log. */
interface Diagnostics { at?: { fileName?: string, lineNumber?: number }, stack?: unknown, source?: unknown, [key: string]: unknown }

export class FailureDigest {
  readonly #parser = new Parser()
  readonly #failed: Result[] = []

  constructor () {
    const watch = (parser: Parser): void => {
      parser.on('assert', (result: Result) => {
        if (!result.ok && result.todo === false && result.skip === false) this.#failed.push(result)
      })
      parser.on('child', watch)
    }
    watch(this.#parser)
  }

  feed (text: string): void {
    this.#parser.write(text)
  }

  /** Once the stream has ended; empty when nothing failed. */
  report (): string {
    this.#parser.end() // the last test point is only emitted at the end of the stream
    const names = this.#failed.map((result) => result.fullname)
    const leaves = this.#failed.filter((result) => !names.some((name) => name.startsWith(`${result.fullname} > `)))
    if (leaves.length === 0) return ''
    const lines = ['', `failed (${leaves.length}):`]
    for (const result of leaves) {
      const { at, stack: _stack, source: _source, ...rest } = (result.diag ?? {}) as Diagnostics
      lines.push(`  not ok - ${result.fullname}${at?.fileName === undefined ? '' : ` (${at.fileName}:${String(at.lineNumber)})`}`)
      const diag = Object.keys(rest).length === 0 ? [] : stringify(rest).split('\n').filter((line) => line.trim() !== '')
      lines.push(...diag.slice(0, DIAGNOSTIC_LINES).map((line) => `      ${line}`))
      if (diag.length > DIAGNOSTIC_LINES) lines.push(`      … ${diag.length - DIAGNOSTIC_LINES} more lines in the log above`)
    }
    return `${lines.join('\n')}\n`
  }
}
