/** Variables that mean real AWS: with any of them (or DYNAMODB_ENDPOINT) set, verso starts no DynamoDB Local. */
const AWS_HINTS = ['AWS_REGION', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']

const given = (env: NodeJS.ProcessEnv, key: string): string | undefined => {
  const value = env[key]?.trim()
  return value === undefined || value === '' ? undefined : value
}

/**
 * The embedded mode, read from the raw environment: nothing says where DynamoDB is, so verso runs its own
 * DynamoDB Local, in DATA_DIR when that is set (else in memory). Undefined otherwise. Light on purpose (no
 * schema library): the server spawns the emulator's JVM with it before the configuration and the rest of verso
 * load, and loadConfig decides with the same function.
 */
export function embeddedMode (env: NodeJS.ProcessEnv): { dataDir: string | undefined } | undefined {
  if (given(env, 'DYNAMODB_ENDPOINT') !== undefined || AWS_HINTS.some((key) => given(env, key) !== undefined)) return undefined
  return { dataDir: given(env, 'DATA_DIR') }
}
