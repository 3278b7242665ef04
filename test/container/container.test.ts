/**
 * The containerized path (Dockerfile, docker-compose.yml, .env.example) checked without a Docker engine:
 * the files are parsed and held against ConfigSchema, and the image's command (`node dist/bin/server.js`) is
 * run for real on the test run's DynamoDB Local, the way the container runs it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { ConfigSchema, loadConfig } from '../../src/config/config.js'
import { endpoint } from '../support/helper.js'
import { freeLoopbackPort } from '../../src/embedded/dynamodb-local.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const read = (file: string): string => readFileSync(new URL(file, new URL('../../', import.meta.url)), 'utf8')
const configKeys = Object.keys(ConfigSchema.properties)
/** `npm start`'s command line: `node`, its V8 flags, `dist/bin/server.js`. */
const START = ((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start ?? '').split(' ')
/** Read by the AWS SDK's default chain, not by loadConfig (AWS_REGION is both). */
const AWS_SDK_VARIABLES = ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']

interface Instruction { keyword: string, args: string }

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfileInstructions (text: string): Instruction[] {
  const instructions: Instruction[] = []
  let pending = ''
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue
    const joined = pending + line.replace(/\s+$/, '')
    if (joined.endsWith('\\')) {
      pending = joined.slice(0, -1) + ' '
      continue
    }
    pending = ''
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(joined)
    if (match !== null) instructions.push({ keyword: (match[1] ?? '').toUpperCase(), args: (match[2] ?? '').trim() })
  }
  return instructions
}

/** The exec-form array of CMD, ENTRYPOINT or HEALTHCHECK ... CMD. */
function execForm (args: string): string[] {
  const start = args.indexOf('[')
  if (start === -1) throw new Error(`not in exec form: ${args}`)
  return JSON.parse(args.slice(start)) as string[]
}

/** A compose `environment:` as a map, whether written as a mapping or as a list of KEY=value. */
function composeEnvironment (environment: unknown): Record<string, string> {
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => {
      const [key = '', ...value] = String(entry).split('=')
      return [key, value.join('=')]
    }))
  }
  return Object.fromEntries(Object.entries((environment ?? {}) as Record<string, unknown>).map(([k, v]) => [k, v === null ? '' : String(v)]))
}

const compose = parse(read('docker-compose.yml')) as { services: Record<string, Record<string, any>> }
const services = compose.services ?? {}
const verso = services.verso ?? {}
const versoEnv = composeEnvironment(verso.environment)
const instructions = dockerfileInstructions(read('Dockerfile'))
const fromIndexes = instructions.flatMap((ins, i) => ins.keyword === 'FROM' ? [i] : [])
const finalStage = instructions.slice(fromIndexes.at(-1) ?? 0)
const healthcheck = instructions.find((ins) => ins.keyword === 'HEALTHCHECK')
/** The node -e script the image's HEALTHCHECK runs. */
const healthScript = healthcheck === undefined ? '' : execForm(healthcheck.args.slice(healthcheck.args.indexOf('CMD'))).at(-1) ?? ''

t.test('docker-compose.yml', async (t) => {
  t.ok(services.dynamodb, 'a dynamodb service')
  t.ok(services.rabbitmq, 'a rabbitmq service')
  t.ok(services.verso, 'a verso service')
  t.match(String(services.dynamodb?.image), /^amazon\/dynamodb-local(:|$)/)
  t.match(String(services.dynamodb?.command), /-jar DynamoDBLocal\.jar/)

  const dependsOn = Array.isArray(verso.depends_on) ? verso.depends_on : Object.keys(verso.depends_on ?? {})
  t.ok(dependsOn.includes('dynamodb'), 'verso depends on dynamodb')
  t.ok(dependsOn.includes('rabbitmq'), 'verso depends on rabbitmq')
  for (const name of ['dynamodb', 'rabbitmq']) {
    t.equal(verso.depends_on?.[name]?.condition, 'service_healthy', `verso waits until ${name} is healthy`)
    t.ok(Array.isArray(services[name]?.healthcheck?.test) && services[name]?.healthcheck?.test.length > 0, `${name} has a healthcheck`)
  }

  const target = new URL(versoEnv.DYNAMODB_ENDPOINT ?? 'http://missing')
  t.equal(target.hostname, 'dynamodb', 'DYNAMODB_ENDPOINT names the dynamodb service')
  t.equal(target.port, '8000', 'on DynamoDB Local\'s port')

  for (const key of Object.keys(versoEnv)) {
    t.ok(configKeys.includes(key) || AWS_SDK_VARIABLES.includes(key), `${key} is a ConfigSchema key or an AWS SDK variable`)
  }
  t.equal(versoEnv.AUTH_MODE, 'none', 'AUTH_MODE explicit: compose is not the embedded mode')
  const config = loadConfig(versoEnv)
  t.equal(config.embedded, false, 'compose never asks for the embedded DynamoDB Local (no Java in the image)')
  t.equal(config.CREATE_TABLES, true)
  t.equal(config.HOST, '0.0.0.0', 'reachable through the published port')
  t.equal(config.OUTBOX_PUBLISHER, 'rabbitmq', 'the relay publishes to the compose RabbitMQ')
  t.equal(new URL(String(config.RABBITMQ_URL)).hostname, 'rabbitmq', 'RABBITMQ_URL names the rabbitmq service')

  const ports = (verso.ports ?? []).map(String)
  t.ok(ports.some((p: string) => p.endsWith(`:${config.PORT}`)), `a published port maps to PORT ${config.PORT}`)
  t.ok(config.METRICS_PORT !== undefined && ports.some((p: string) => p.endsWith(`:${String(config.METRICS_PORT)}`)), `a published port maps to METRICS_PORT ${String(config.METRICS_PORT)}`)
  t.equal(config.METRICS_HOST, '0.0.0.0', 'metrics reachable through their published port')

  const test = (verso.healthcheck?.test ?? []) as string[]
  t.match(test.join(' '), /\/health\/ready/, 'verso healthcheck probes readiness')
  t.equal(test.at(-1), healthScript, 'same probe as the Dockerfile HEALTHCHECK')
})

t.test('.env.example lists every setting', async (t) => {
  const text = read('.env.example')
  for (const key of configKeys) {
    t.match(text, new RegExp(`^#? ?${key}=`, 'm'), `${key} is in .env.example`)
  }
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE']) {
    t.match(text, new RegExp(`\\b${key}\\b`), `${key} is mentioned for real AWS`)
  }
})

t.test('Dockerfile', async (t) => {
  t.ok(fromIndexes.length > 1, 'multi-stage build')
  // The image runs the documented Node.js: every stage's base is the major that package.json engines names.
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node
  const major = /^>=(\d+)$/.exec(engines)?.[1] ?? 'none'
  for (const i of fromIndexes) t.match(instructions[i]?.args, new RegExp(`^node:${major}-`), `${instructions[i]?.args ?? ''}: Node.js ${major} (engines ${engines})`)
  t.ok(finalStage.some((ins) => ins.keyword === 'USER' && ins.args === 'node'), 'USER node in the final stage')
  t.ok(finalStage.some((ins) => ins.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(ins.args)), 'npm ci --omit=dev in the final stage')
  t.notOk(finalStage.some((ins) => ins.keyword === 'RUN' && /npm (run )?build/.test(ins.args)), 'no compiling in the final stage')
  t.ok(finalStage.some((ins) => ins.keyword === 'COPY' && /--from=\S+\s+\S*dist\b/.test(ins.args)), 'dist/ copied from the build stage')
  t.ok(instructions.slice(0, fromIndexes.at(-1)).some((ins) => ins.keyword === 'RUN' && /npm run build/.test(ins.args)), 'the build stage runs npm run build')

  t.ok(healthcheck, 'a HEALTHCHECK')
  t.match(healthScript, /\/health\/ready/, 'HEALTHCHECK probes readiness')
  const entrypoint = finalStage.find((ins) => ins.keyword === 'ENTRYPOINT')
  t.match(entrypoint?.args ?? '', /dumb-init|tini/, 'runs under an init')
  t.ok(finalStage.some((ins) => ins.keyword === 'RUN' && /apt-get install.*dumb-init/.test(ins.args)) || /tini/.test(entrypoint?.args ?? ''), 'the init is installed')

  const env = finalStage.filter((ins) => ins.keyword === 'ENV').map((ins) => ins.args).join(' ')
  t.match(env, /\bHOST=0\.0\.0\.0\b/)
  t.match(env, /\bPORT=3000\b/)
  t.match(env, /\bNODE_ENV=production\b/)
  t.ok(finalStage.some((ins) => ins.keyword === 'EXPOSE' && ins.args.split(/\s+/).includes('3000')), 'EXPOSE 3000')
  const imageEnv = Object.fromEntries([...env.matchAll(/\b([A-Z_]+)=(\S*)/g)].map((m) => [m[1] ?? '', m[2] ?? '']))
  for (const key of Object.keys(imageEnv)) t.ok(configKeys.includes(key) || key === 'NODE_ENV', `image ENV ${key} is a ConfigSchema key`)
  t.equal(imageEnv.METRICS_HOST, '0.0.0.0', 'metrics reachable from the scraper\'s network')
  t.ok(finalStage.some((ins) => ins.keyword === 'EXPOSE' && ins.args.split(/\s+/).includes(imageEnv.METRICS_PORT ?? '-')), `EXPOSE METRICS_PORT ${String(imageEnv.METRICS_PORT)}`)
  t.equal(versoEnv.METRICS_PORT, imageEnv.METRICS_PORT, 'compose and the image agree on the metrics port')

  const cmd = execForm(finalStage.find((ins) => ins.keyword === 'CMD')?.args ?? '')
  t.same(cmd, START, 'the image runs verso as npm start does, V8 flags included')
  const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions?: { outDir?: string, rootDir?: string } }
  t.equal(build.compilerOptions?.outDir, 'dist', 'npm run build writes dist/')
  t.equal(build.compilerOptions?.rootDir, 'src', 'from src/, so src/bin/server.ts becomes dist/bin/server.js')
  t.ok(existsSync(new URL('src/bin/server.ts', new URL('../../', import.meta.url))), 'src/bin/server.ts exists')
  t.match(JSON.parse(read('package.json')).scripts?.build ?? '', /tsconfig\.build\.json/, 'npm run build uses tsconfig.build.json')
})

interface Running { child: ChildProcess, stdout: () => string, stderr: () => string, exit: Promise<{ code: number | null, signal: NodeJS.Signals | null }> }

/** `node dist/bin/server.js` with only the given environment, as the image's CMD runs it. */
function startServer (env: Record<string, string>): Running {
  const child = spawn(process.execPath, START.slice(1), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exit = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { resolve({ code, signal }) })
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exit }
}

const within = async <T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  await Promise.race([promise, sleep(ms, 'timeout' as const)])

const runHealthcheck = async (port: number): Promise<number> => await new Promise((resolve) => {
  execFile(process.execPath, ['-e', healthScript], { env: { PORT: String(port) }, timeout: 10_000 }, (err) => {
    resolve(err === null ? 0 : typeof err.code === 'number' ? err.code : 1)
  })
})

t.test('the image command, without Docker', async (t) => {
  await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: root, timeout: 90_000 })
  t.ok(existsSync(new URL('dist/bin/server.js', new URL('../../', import.meta.url))), 'the build produced dist/bin/server.js')

  const baseEnv = { NODE_ENV: 'production', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }

  t.test('serves, gets ready, and exits 0 on SIGTERM', async (t) => {
    const port = await freeLoopbackPort()
    const metricsPort = await freeLoopbackPort()
    const server = startServer({
      ...baseEnv,
      DYNAMODB_ENDPOINT: endpoint(),
      AUTH_MODE: 'none',
      OUTBOX_PUBLISHER: 'log',
      CREATE_TABLES: 'true',
      TABLE_PREFIX: `ctr${randomBytes(4).toString('hex')}_`,
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      AWS_REGION: 'us-east-1'
    })
    t.teardown(() => { if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL') })

    const deadline = Date.now() + 30_000
    let status = 0
    while (Date.now() < deadline && server.child.exitCode === null) {
      status = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(3000) })
        .then((res) => res.status, () => 0)
      if (status === 200) break
      await sleep(200)
    }
    t.equal(status, 200, `ready within 30 s (stderr: ${server.stderr().trim().slice(-500)})`)
    t.equal(await runHealthcheck(port), 0, 'the image HEALTHCHECK passes')
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(async (res) => ({ status: res.status, text: await res.text() }), () => ({ status: 0, text: '' }))
    t.equal(metrics.status, 200, 'metrics on METRICS_PORT')
    t.match(metrics.text, /verso_http_request_duration_seconds_count\{method="GET",route="\/health\/ready",status_code="200"\}/, 'counting the readiness probes')
    t.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404, 'and not on the API port')

    const logLines = server.stdout().trim().split('\n').filter((line) => line !== '')
    t.ok(logLines.length > 0 && logLines.every((line) => { try { return typeof JSON.parse(line).level === 'number' } catch { return false } }), 'logs are pino JSON lines off a terminal')

    server.child.kill('SIGTERM')
    const result = await within(server.exit, 15_000)
    t.same(result, { code: 0, signal: null }, 'exits 0 within 15 s of SIGTERM')
    t.match(server.stdout(), /verso is stopping/, 'logs the shutdown')
    t.equal(await runHealthcheck(port), 1, 'the HEALTHCHECK fails once verso is gone')
  })

  t.test('a bad variable: exit 1 and one line naming it', async (t) => {
    const server = startServer({ ...baseEnv, DYNAMODB_ENDPOINT: endpoint(), AUTH_MODE: 'none', PORT: 'abc' })
    t.teardown(() => { if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL') })
    const result = await within(server.exit, 15_000)
    t.same(result, { code: 1, signal: null }, 'exits 1')
    const lines = server.stderr().trim().split('\n')
    t.equal(lines.length, 1, `one line on stderr: ${server.stderr()}`)
    t.match(lines[0] ?? '', /\bPORT\b/, 'naming PORT')
    t.equal(server.stdout(), '', 'nothing on stdout')
  })
})
