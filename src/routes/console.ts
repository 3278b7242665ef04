import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { routeNotFound } from '../errors.js'

/** Where `npm run build` writes the console (scripts/build-console.mjs): the same folder from src/ and from dist/. */
export const CONSOLE_BUILD = fileURLToPath(new URL('../../dist/console/', import.meta.url))

/**
 * The console's pages: its own bundled script and stylesheet and calls to this origin, nothing inline, nothing
 * from elsewhere. No upgrade-insecure-requests, as for /docs: verso is often served over plain HTTP in a network.
 */
export const CONSOLE_CSP = [
  "default-src 'none'", "base-uri 'none'", "connect-src 'self'", "form-action 'none'", "frame-ancestors 'none'",
  "img-src 'self' data:", "script-src 'self'", "script-src-attr 'none'", "style-src 'self'", "style-src-attr 'none'"
].join('; ')

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8'
}
const IMMUTABLE = 'public, max-age=31536000, immutable'

interface Asset { body: Buffer, type: string }

/**
 * The history console (console/, built by scripts/build-console.mjs): one page for every path under /console
 * (the page routes itself, so a deep link works), and its assets, whose names carry their content's hash and
 * are cached for good. The page holds no data and calls the API with the caller's own credentials, so it is
 * open like /docs. Everything is read once, here: a few tens of kilobytes. Without a build the console is not
 * served, and a warning says how to build it.
 */
const consoleRoutes: FastifyPluginAsync<{ directory?: string }> = async (app, { directory = CONSOLE_BUILD }) => {
  let index: Buffer
  const assets = new Map<string, Asset>()
  try {
    index = readFileSync(join(directory, 'index.html'))
    for (const name of readdirSync(join(directory, '_assets'))) {
      assets.set(name, { body: readFileSync(join(directory, '_assets', name)), type: TYPES[extname(name)] ?? 'application/octet-stream' })
    }
  } catch (err) {
    app.log.warn({ err, directory }, 'the history console is not built (npm run build builds it): /console is not served')
    return
  }
  const etag = `"${createHash('sha256').update(index).digest('base64url').slice(0, 22)}"`
  const open = { schema: { hide: true }, config: { public: true } }

  const page = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    // no-cache, not no-store: the browser keeps the page and asks with If-None-Match whether it is still this build.
    reply.header('content-security-policy', CONSOLE_CSP).header('cache-control', 'no-cache').header('etag', etag)
    if (request.headers['if-none-match'] === etag) return await reply.code(304).send()
    return await reply.type('text/html; charset=utf-8').send(index)
  }
  app.get('/console', open, page)
  app.get('/console/*', open, page)
  // Hidden and unvalidated, as the pages are: the route's own parameter is its type.
  app.get<{ Params: { name: string } }>('/console/_assets/:name', open, async (request, reply) => {
    const { name } = request.params
    const asset = assets.get(name)
    if (asset === undefined) throw routeNotFound(request.method, request.url)
    return await reply.header('cache-control', IMMUTABLE).type(asset.type).send(asset.body)
  })
}

export default consoleRoutes
