import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import { CursorCodec } from '../../http/cursor.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Signs and checks page cursors. */
    cursors: CursorCodec
  }
}

/** The page cursor codec. Without CURSOR_SECRET cursors are signed with a key of this process only (server.ts warns about it). */
export default fp<{ secret?: string | undefined }>(async (app, { secret }) => {
  app.decorate('cursors', new CursorCodec(secret ?? randomBytes(32).toString('hex')))
}, { name: 'cursors' })
