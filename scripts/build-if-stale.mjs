// `npm start`'s prestart: runs the build (`tsc -b tsconfig.build.json`) unless dist/ is newer than everything it
// is built from. tsc -b makes the same check, but loading the compiler to make it costs 0.8 s of every start;
// this look at file times costs 30 ms. Anything newer than the last build (a source file, a tsconfig, the
// lockfile), or no build yet, and tsc -b decides.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const mtime = (path) => { try { return statSync(path).mtimeMs } catch { return undefined } }
const newest = (dir) => Math.max(mtime(dir) ?? 0, ...readdirSync(dir, { withFileTypes: true }).map((entry) =>
  entry.isDirectory() ? newest(join(dir, entry.name)) : mtime(join(dir, entry.name)) ?? 0))

const built = mtime('dist/.tsbuildinfo')
const inputs = Math.max(newest('src'), ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((f) => mtime(f) ?? 0))
if (built === undefined || inputs > built) {
  const { status } = spawnSync('npx', ['--no-install', 'tsc', '-b', 'tsconfig.build.json'], { stdio: 'inherit' })
  process.exit(status ?? 1)
}
