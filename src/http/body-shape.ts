import { bodyTooDeep, bodyTooManyFields } from '../errors.js'

export interface BodyShapeLimits {
  /** Objects and arrays nested in each other; the body itself is level 1. */
  maxDepth: number
  /** Object members plus array elements, counted at every level. */
  maxFields: number
}

/**
 * Refuses a parsed JSON body that nests deeper or holds more fields than the limits, before anything
 * walks it recursively (validation, merge patch, item mapping, diff). Iterative with an explicit stack,
 * and it stops at the first excess, so a 10,000-deep body costs a few steps and never the call stack.
 */
export function checkBodyShape (body: unknown, limits: BodyShapeLimits): void {
  if (typeof body !== 'object' || body === null) return
  const stack: Array<{ value: object, depth: number }> = [{ value: body, depth: 1 }]
  let fields = 0
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (next.depth > limits.maxDepth) throw bodyTooDeep(limits.maxDepth)
    const children: unknown[] = Array.isArray(next.value) ? next.value : Object.values(next.value)
    fields += children.length
    if (fields > limits.maxFields) throw bodyTooManyFields(limits.maxFields)
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: next.depth + 1 })
    }
  }
}
