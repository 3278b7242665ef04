import t from 'tap'
import { isOpenPath, NEVER_SHED_PATH, RESERVED_MODEL_PATHS } from '../src/open-paths.js'

t.test('open paths match by path segment, never by text prefix', async (t) => {
  for (const path of ['/health/live', '/health/ready', '/docs', '/docs/static/index.html', '/openapi.json']) t.ok(isOpenPath(path), path)
  for (const path of ['/docsearch', '/docsearch/{entity_id}', '/healthcheck', '/metrics', '/person', '/', '']) t.notOk(isOpenPath(path), path)
  t.notOk(isOpenPath(undefined), 'a request that matched no route')
  t.ok(isOpenPath(NEVER_SHED_PATH), 'liveness is open too')
})

t.test('no model may take a path verso serves itself', async (t) => {
  t.same([...RESERVED_MODEL_PATHS].sort(), ['asyncapi.json', 'console', 'docs', 'health', 'openapi.json'])
})
