/**
 * Scenario 6 of `npm run chaos`, overload, at `ci` scale: several times verso's capacity on new and kept-alive
 * connections, with production's load shedding and admission. Every verdict must hold.
 */
import t from 'tap'
import { overload } from '../../chaos/scenarios/overload.js'

t.test(overload.name, { timeout: 240_000 }, async (t) => {
  const verdicts = await overload.run({ scale: 'ci', log: (line) => { t.comment(line) } })
  t.ok(verdicts.length > 0, 'the scenario gave verdicts')
  for (const v of verdicts) t.ok(v.ok, `${v.invariant}: ${v.detail}`)
})
