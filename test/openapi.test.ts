import t from 'tap'
import { readFileSync } from 'node:fs'
import { generateOpenApi, OPENAPI_PATH } from '../scripts/openapi-document.js'

t.test('openapi/openapi.json is what the app generates (run npm run openapi when this fails)', async (t) => {
  const generated = await generateOpenApi()
  t.equal(readFileSync(OPENAPI_PATH, 'utf8'), generated)
})

t.test('every operation has an id, a summary, tags and typed responses with examples', async (t) => {
  const doc = JSON.parse(await generateOpenApi())
  const ids = new Set<string>()
  for (const [path, methods] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      const where = `${method.toUpperCase()} ${path}`
      t.ok(op.operationId, `${where} has an operationId`)
      t.notOk(ids.has(op.operationId), `${where} operationId is unique`)
      ids.add(op.operationId)
      t.ok(op.summary, `${where} has a summary`)
      t.ok(op.tags?.length > 0, `${where} has tags`)
      const responses = Object.entries<any>(op.responses)
      t.ok(responses.some(([status]) => status.startsWith('2')), `${where} documents success`)
      for (const [status, response] of responses) {
        if (status === '304') continue
        const content = response.content
        t.ok(content !== undefined, `${where} ${status} has a schema`)
        if (status >= '400') t.ok(content['application/problem+json'] ?? content['application/json'], `${where} ${status} is a problem`)
      }
    }
  }
  for (const name of ['Person', 'Book', 'Problem']) t.ok(doc.components.schemas[name], `${name} is a component`)
  // Every success response and every request body shows an example (directly or through the schema it names).
  const withExample = (node: any): boolean => {
    const text = JSON.stringify(node)
    if (/"examples?":/.test(text)) return true
    const ref = /"\$ref":"#\/components\/schemas\/([^"]+)"/.exec(text)?.[1]
    return ref !== undefined && withExample(doc.components.schemas[ref])
  }
  for (const [path, methods] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      if (op.requestBody !== undefined) t.ok(withExample(op.requestBody), `${method.toUpperCase()} ${path} request body has an example`)
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (status.startsWith('2') && response.content !== undefined) t.ok(withExample(response.content), `${method.toUpperCase()} ${path} ${status} has an example`)
      }
    }
  }
  t.ok(doc.components.schemas.Person.example ?? doc.components.schemas.Person.examples, 'entity schemas carry an example')
})
