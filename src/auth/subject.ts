/**
 * How a caller's name becomes `changed_by_id`. Rococo writes ids as 32 lowercase hex digits, so a UUID
 * subject (with dashes or without, any case) is written in that form; any other subject is kept as given,
 * within a bounded length and a character set that is safe in logs, events and DynamoDB keys.
 */
const UUID_DASHED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const UUID_HEX = /^[0-9a-f]{32}$/i

export const MAX_SUBJECT_LENGTH = 128
/** Letters, digits and `- . _ ~ : @ | + = /`: what OIDC providers use (`auth0|6f1c…`, `user@example.com`, base64). */
export const SUBJECT_PATTERN = /^[A-Za-z0-9\-._~:@|+=/]+$/

/** The caller id for a subject, or undefined when the subject cannot be one. */
export function callerIdOf (subject: unknown): string | undefined {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) return undefined
  if (UUID_DASHED.test(subject) || UUID_HEX.test(subject)) return subject.replaceAll('-', '').toLowerCase()
  return SUBJECT_PATTERN.test(subject) ? subject : undefined
}
