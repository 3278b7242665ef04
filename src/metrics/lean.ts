/**
 * Metrics for the per-request hot path, exposed through a prom-client Registry (which only calls `get()`).
 * prom-client's own Histogram validates and hashes the label object on every observe (about a microsecond
 * each); here a caller resolves the series of a label set once, keeps it, and an observation is a bucket
 * scan and three additions, with no allocation.
 */

export type Labels = Record<string, string>

interface Sample {
  labels: Labels
  value: number
  metricName?: string
  /** Labels of the series, printed after `labels` (prom-client's own histograms use this for `le`). */
  sharedLabels?: Labels
}

/** What prom-client's Registry reads from a metric. */
export interface Collected {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  values: Sample[]
  aggregator: 'sum'
}

const labelsOf = (names: readonly string[], values: readonly string[]): Labels =>
  Object.fromEntries(names.map((name, i) => [name, values[i] ?? '']))

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is above the highest bound. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor (readonly labels: Labels, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe (value: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    this.counts[i]!++
    this.sum += value
    this.count++
  }
}

export class LeanHistogram {
  readonly type = 'histogram'
  private readonly series = new Map<string, HistogramSeries>()

  constructor (readonly name: string, readonly help: string, private readonly labelNames: readonly string[], private readonly bounds: readonly number[]) {}

  /** The series of these label values (in labelNames order), made on first use. Keep it: this call allocates. */
  with (...values: string[]): HistogramSeries {
    const key = values.join('\u0000')
    let series = this.series.get(key)
    if (series === undefined) {
      series = new HistogramSeries(labelsOf(this.labelNames, values), this.bounds)
      this.series.set(key, series)
    }
    return series
  }

  async get (): Promise<Collected> {
    const values: Sample[] = []
    for (const series of this.series.values()) {
      let cumulative = 0
      for (const [i, bound] of this.bounds.entries()) {
        cumulative += series.counts[i]!
        values.push({ labels: { le: String(bound) }, sharedLabels: series.labels, value: cumulative, metricName: `${this.name}_bucket` })
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_bucket` })
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` })
      values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' }
  }

  reset (): void { this.series.clear() }
}

export class CounterSeries {
  value = 0
  constructor (readonly labels: Labels) {}
  inc (by = 1): void { this.value += by }
}

export class LeanCounter {
  readonly type = 'counter'
  private readonly series = new Map<string, CounterSeries>()

  constructor (readonly name: string, readonly help: string, private readonly labelNames: readonly string[]) {}

  /** The series of these label values (in labelNames order), made on first use. */
  with (...values: string[]): CounterSeries {
    const key = values.join('\u0000')
    let series = this.series.get(key)
    if (series === undefined) {
      series = new CounterSeries(labelsOf(this.labelNames, values))
      this.series.set(key, series)
    }
    return series
  }

  async get (): Promise<Collected> {
    return { name: this.name, help: this.help, type: this.type, values: [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value })), aggregator: 'sum' }
  }

  reset (): void { this.series.clear() }
}

/** A gauge or counter read from elsewhere at scrape time (the relay's own counters and backlog figures). */
export class Sampled {
  constructor (
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    private readonly read: () => Array<{ labels?: Labels, value: number }>
  ) {}

  async get (): Promise<Collected> {
    return { name: this.name, help: this.help, type: this.type, values: this.read().map((v) => ({ labels: v.labels ?? {}, value: v.value })), aggregator: 'sum' }
  }

  reset (): void {}
}
