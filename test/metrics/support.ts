import type { FastifyInstance } from 'fastify'

export interface Series { name: string, labels: Record<string, string>, value: number }

/** The samples of a Prometheus text exposition (comment lines dropped). */
export function parseExposition (text: string): Series[] {
  const series: Series[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, name = '', value = ''] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[name] = value
    const raw = match[3] ?? ''
    series.push({ name: match[1] ?? '', labels, value: raw === '+Inf' ? Infinity : Number(raw) })
  }
  return series
}

/** Sum of the samples named `name` whose labels include `labels`; 0 when there is none. */
export function sample (text: string, name: string, labels: Record<string, string> = {}): number {
  return parseExposition(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0)
}

/** The app's exposition, as the metrics listener would serve it. */
export async function scrape (app: FastifyInstance): Promise<string> {
  if (app.metrics === null) throw new Error('metrics are off in this app')
  return await app.metrics.exposition()
}
