// `npm start`'s prestart: runs the build (`tsc -b tsconfig.build.json`, then the console's) unless dist/ is newer
// than everything it is built from. tsc -b makes the same check, but loading the compiler to make it costs 0.8 s
// of every start; this look at file times costs 30 ms. Anything newer than the last build (a source file, a
// tsconfig, the lockfile), or no build yet, and the build runs: tsc -b decides for the service, and the console
// (console/, bundled by scripts/build-console.mjs in about 0.2 s) is rebuilt whole.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const mtime = (path) => { try { return statSync(path).mtimeMs } catch { return undefined } }
const newest = (dir) => Math.max(mtime(dir) ?? 0, ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
  entry.isDirectory() ? newest(join(dir, entry.name)) : mtime(join(dir, entry.name)) ?? 0))
const stale = (built, ...inputs) => built === undefined || Math.max(...inputs) > built
const lockfile = mtime('package-lock.json') ?? 0

if (stale(mtime('dist/.tsbuildinfo'), newest('src'), ...['tsconfig.json', 'tsconfig.build.json'].map((f) => mtime(f) ?? 0), lockfile)) {
  const { status } = spawnSync('npx', ['--no-install', 'tsc', '-b', 'tsconfig.build.json'], { stdio: 'inherit' })
  if (status !== 0) process.exit(status ?? 1)
}
const { buildConsole, CONSOLE_SOURCES, CONSOLE_STAMP } = await import('./build-console.mjs')
if (stale(mtime(CONSOLE_STAMP), newest(CONSOLE_SOURCES), mtime('scripts/build-console.mjs') ?? 0, lockfile)) await buildConsole()
