/** The error a function throws (undefined when it does not): for t.match against its fields. Kept apart from
 * helper.ts so that unit tests need not load the app. */
export function thrown (fn: () => unknown): any {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}
