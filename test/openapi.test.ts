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

t.test('the committed document says what the service does', async (t) => {
  const doc = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'))
  const param = (path: string, method: string, name: string): any => doc.paths[path][method].parameters?.find((p: any) => p.name === name)
  for (const [path, name] of [['/person', 'limit'], ['/person', 'include_deleted'], ['/person/{id}', 'include_deleted'], ['/person/{id}/versions', 'limit'], ['/person/{id}/versions/{version}/diff', 'include_meta']] as const) {
    t.notOk(param(path, 'get', name).required, `${path} ${name} is optional`)
  }
  t.notOk(param('/person', 'get', 'order'), 'no order where no index has a range field')
  t.ok(param('/book', 'get', 'order'), 'order where one has')
  t.notOk(param('/person', 'get', 'sort'), 'sort, never accepted, is not documented')
  t.equal(doc.paths['/person/{id}'].delete.requestBody.required, false, 'DELETE needs no body')
  t.equal(doc.paths['/person/{id}/versions/{version}/restore'].post.requestBody.required, false, 'restore needs no body')
  const ifMatch = param('/person/{id}', 'put', 'if-match')
  t.equal(ifMatch.schema.pattern, '^"[0-9a-f]{32}"$', 'If-Match is a quoted strong entity tag')
  t.match(ifMatch.description, /428/)
  const notModified = doc.paths['/person/{id}'].get.responses['304']
  t.equal(notModified.headers.etag.required, true, '304 carries the ETag')
  t.notOk(notModified.content, 'and no body')
  for (const [path, methods] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      for (const status of ['400', '408', '500']) t.ok(op.responses[status], `${method.toUpperCase()} ${path} declares ${status}`)
      if (path !== '/health/live') t.ok(op.responses['503'], `${method.toUpperCase()} ${path} declares 503`)
      for (const [status, response] of Object.entries<any>(op.responses)) {
        // A 408 is answered on the raw socket, before a request and its id exist.
        t.equal(response.headers?.['x-request-id']?.required, status === '408' ? undefined : true, `${method.toUpperCase()} ${path} ${status}: x-request-id`)
      }
    }
  }
  const operations = doc.paths['/_transactions'].post.requestBody.content['application/json'].schema.properties.operations.items
  t.notOk(operations.discriminator, 'no discriminator without a mapping: a plain oneOf')
  t.same(operations.oneOf.map((o: any) => o.properties.op.enum), [['create'], ['replace'], ['patch'], ['delete'], ['restore'], ['check']], 'each branch names its op')
  const results = doc.paths['/_transactions'].post.responses['200'].content['application/json'].schema.properties.results.items.anyOf
  t.same(results.map((r: any) => [r.properties.model.enum[0], r.properties.entity.$ref ?? r.properties.entity.oneOf?.[0]?.$ref ?? r.properties.entity.anyOf?.[0]?.$ref]),
    [['person', '#/components/schemas/Person'], ['person', '#/components/schemas/Person'], ['book', '#/components/schemas/Book'], ['book', '#/components/schemas/Book']], 'results name the entity of their model')
  t.same(doc.paths['/person'].get.responses['200'].content['application/json'].schema.properties.items.items.anyOf, [{ $ref: '#/components/schemas/Person' }, { $ref: '#/components/schemas/PersonProjection' }], 'a list item is an entity or a projection')
  t.same(doc.components.schemas.PersonProjection.required, ['entity_id'])
})
