/**
 * The fault scenarios of `npm run chaos` (chaos/scenarios), scaled down: a conflict storm, SIGKILLs of verso
 * mid-write, a broker outage and a DynamoDB outage, each against a real verso process. Every invariant each
 * scenario checks must hold. Without RabbitMQ the broker outage is skipped and the other scenarios check the
 * events in the outbox table instead (REQUIRE_RABBITMQ=1 turns a missing broker into a failure).
 */
import t from 'tap'
import { rabbitSkip } from '../../chaos/broker.js'
import type { Scenario } from '../../chaos/scenario.js'
import { brokerOutage } from '../../chaos/scenarios/broker-outage.js'
import { conflictStorm } from '../../chaos/scenarios/conflict-storm.js'
import { crashMidWrite } from '../../chaos/scenarios/crash-mid-write.js'
import { dynamodbOutage } from '../../chaos/scenarios/dynamodb-outage.js'

const brokerSkip = await rabbitSkip()
// Each scenario starts its own verso (and the DynamoDB outage its own DynamoDB Local): on a loaded machine the
// four together outgrow the default 120 s per file. Each scenario still ends by itself.
t.setTimeout(480_000)

const check = (scenario: Scenario, skip: string | false = false): void => {
  t.test(scenario.name, { skip }, async (t) => {
    const verdicts = await scenario.run({ scale: 'ci', log: (line) => { t.comment(line) } })
    t.ok(verdicts.length > 0, 'the scenario gave verdicts')
    for (const v of verdicts) t.ok(v.ok, `${v.invariant}: ${v.detail}`)
  })
}

check(conflictStorm)
check(crashMidWrite)
check(brokerOutage, brokerSkip)
check(dynamodbOutage)
