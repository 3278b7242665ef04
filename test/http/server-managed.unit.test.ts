import t from 'tap'
import { REFUSED_ON_CREATE, refusedOnWrite, serverManagedIn, serverManagedProblem } from '../../src/http/server-managed.js'

const ALL = ['entity_id', 'version', 'previous_version', 'active', 'changed_by_id', 'changed_on']
const everyField = Object.fromEntries(ALL.map((f) => [f, 'x']))

t.test('which server-managed fields each body may carry', async (t) => {
  t.same(serverManagedIn(everyField, REFUSED_ON_CREATE), ALL.filter((f) => f !== 'entity_id'), 'a create may name its entity_id')
  t.same(serverManagedIn(everyField, refusedOnWrite(true)), ALL.filter((f) => f !== 'version'), 'a versioned write may carry its version')
  t.same(serverManagedIn(everyField, refusedOnWrite(false)), ALL, 'a model without versions takes none')
  t.same(serverManagedIn(everyField), ALL, "a transaction operation's body takes none")
  t.same(serverManagedIn({ title: 'T', active: false }, REFUSED_ON_CREATE), ['active'])
})

t.test('bodies that are not objects name no field', async (t) => {
  for (const body of [null, undefined, 'version', 42, ['version']]) t.same(serverManagedIn(body), [], JSON.stringify(body))
})

t.test('the refusal names every field refused', async (t) => {
  t.equal(serverManagedProblem({ title: 'T' }, REFUSED_ON_CREATE), undefined)
  const problem = serverManagedProblem({ version: 'v', changed_on: 'c' }, REFUSED_ON_CREATE)
  t.match(problem, { code: 'VERSO_SERVER_MANAGED_FIELD', statusCode: 400 })
  t.same(problem?.errors?.map((e) => e.path), ['/body/version', '/body/changed_on'])
})
