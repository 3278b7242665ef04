/**
 * The contract between `npm run chaos` (chaos/run.ts) and its scenarios (chaos/scenarios/*.ts). A scenario
 * starts what it needs (DynamoDB Local, verso, a broker proxy…), breaks something on purpose, stops everything
 * it started, and answers with one verdict per invariant. The same scenario runs full size from `npm run chaos`
 * and scaled down from the test suite (test/chaos/), which asserts that every verdict holds.
 */
export interface Verdict {
  /** What is promised, in a few words: "audit items = successful updates". */
  invariant: string
  ok: boolean
  /** The figures behind the verdict, or the first counter-examples when it failed. */
  detail: string
}

export interface ScenarioContext {
  /** `full` for `npm run chaos`; `ci` for the test suite (the scenarios together finish in under 2 minutes). */
  scale: 'full' | 'ci'
  /** Progress lines (to stderr in the runner, to the tap comment stream in tests). */
  log: (line: string) => void
}

export interface Scenario {
  name: string
  /** Bounded: it stops by itself, whatever happens (full scale ≤ 10 min for all scenarios together). */
  run: (ctx: ScenarioContext) => Promise<Verdict[]>
}
