/**
 * Scenario 5 of `npm run chaos`, hostile input, at `ci` scale: 1,500 generated and hand-written hostile requests
 * against a verso process of its own. Every invariant must hold.
 */
import t from 'tap'
import { hostileInput } from '../../chaos/scenarios/hostile-input.js'

t.test(hostileInput.name, { timeout: 240_000 }, async (t) => {
  const verdicts = await hostileInput.run({ scale: 'ci', log: (line) => { t.comment(line) } })
  t.ok(verdicts.length > 0, 'the scenario gave verdicts')
  for (const v of verdicts) t.ok(v.ok, `${v.invariant}: ${v.detail}`)
})
