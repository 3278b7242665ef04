import { createHmac, timingSafeEqual } from 'node:crypto'
import { badRequest } from '../errors.js'

/**
 * Opaque, URL-safe, tamper-evident page cursors: base64url JSON plus an HMAC-SHA256 over it and a scope
 * (model, route, entity, filters). A cursor that was changed, or that was issued for another model, entity
 * or filter set, is refused with a 400. CURSOR_SECRET must be the same on every replica.
 */
export class CursorCodec {
  constructor (private readonly secret: string) {}

  encode (payload: unknown, scope: string): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url')
    return `${body}.${this.sign(body, scope)}`
  }

  decode (cursor: string, scope: string): unknown {
    const [body = '', signature = '', extra] = cursor.split('.')
    const expected = Buffer.from(this.sign(body, scope))
    const given = Buffer.from(signature)
    if (extra !== undefined || expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw badRequest('cursor is not a cursor this service issued for this request; start again without it.')
    }
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
  }

  private sign (body: string, scope: string): string {
    return createHmac('sha256', this.secret).update(`${scope}\n${body}`).digest('base64url')
  }
}
