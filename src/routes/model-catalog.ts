import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { Book } from '../models/book.js'
import type { Model } from '../models/define.js'
import { modelTables } from '../storage/table-names.js'

function describeModel (model: Model, prefix: string): Record<string, unknown> {
  const { main, audit } = modelTables(prefix, model)
  return {
    name: model.name,
    path: model.path,
    description: model.description,
    versioned: model.versioned,
    allow_extra: model.allowExtra,
    indexes: model.indexes.map((i) => ({ name: i.name, hash: i.hash, ...(i.range === undefined ? {} : { range: i.range }) })),
    tables: { main, audit: model.versioned ? audit : null },
    // TypeBox schemas are JSON Schema; the round trip drops nothing but TypeBox's own symbols.
    schema: JSON.parse(JSON.stringify(model.schema)) as unknown
  }
}

const ModelInfo = Type.Object({
  name: Type.String({ description: 'Class-style name (Rococo)' }),
  path: Type.String({ description: 'Path segment of its routes: /{path}' }),
  description: Type.String(),
  versioned: Type.Boolean({ description: "Rococo's VersionedModel (history, soft delete) or BaseModel" }),
  allow_extra: Type.Boolean({ description: 'Unknown fields are stored beside the declared ones' }),
  indexes: Type.Array(Type.Object({ name: Type.String(), hash: Type.String(), range: Type.Optional(Type.String()) })),
  tables: Type.Object({ main: Type.String(), audit: Type.Union([Type.String(), Type.Null()], { description: 'null for a non-versioned model' }) }),
  schema: Type.Record(Type.String(), Type.Unknown(), { description: "JSON Schema of the entity's own fields (verso adds the server-managed ones)" })
})

/** GET /_models: every model served, built-in and from MODELS_DIR, with its tables and field schema. */
const modelCatalog: FastifyPluginAsync<{ models: readonly Model[], tablePrefix: string }> = async (app, { models, tablePrefix }) => {
  const body = { items: models.map((m) => describeModel(m, tablePrefix)) }
  app.get('/_models', {
    schema: {
      tags: ['models'],
      operationId: 'listModels',
      summary: 'The models this service serves (built-in and runtime), with their tables and JSON Schemas',
      response: {
        200: Type.Object({ items: Type.Array(ModelInfo) }, { description: 'Every model served, built-in first', examples: [{ items: [describeModel(Book, '')] }] })
      }
    }
  }, async () => body)
}

export default modelCatalog
