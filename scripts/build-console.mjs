// Builds the history console (console/) into dist/console/: one script and one stylesheet bundled by esbuild,
// named by their content's hash (served as immutable), and index.html naming them (served as no-cache).
// `npm run build` runs it after tsc, `npm start` through scripts/build-if-stale.mjs, the browser test before it starts.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
export const CONSOLE_SOURCES = join(root, 'console')
export const CONSOLE_OUT = join(root, 'dist', 'console')
/** Written last: its time is the build's, for build-if-stale.mjs. */
export const CONSOLE_STAMP = join(CONSOLE_OUT, '.built')

export async function buildConsole () {
  const { build } = await import('esbuild')
  const assets = join(CONSOLE_OUT, '_assets')
  mkdirSync(assets, { recursive: true })
  const result = await build({
    entryPoints: [join(CONSOLE_SOURCES, 'src', 'main.tsx'), join(CONSOLE_SOURCES, 'src', 'style.css')],
    outdir: assets,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning'
  })
  const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path))
  const script = outputs.find((name) => name.endsWith('.js'))
  const style = outputs.find((name) => name.endsWith('.css'))
  if (script === undefined || style === undefined) throw new Error(`the console build made no script or no stylesheet: ${outputs.join(', ')}`)
  const page = readFileSync(join(CONSOLE_SOURCES, 'index.html'), 'utf8')
    .replace('%SCRIPT%', `/console/_assets/${script}`)
    .replace('%STYLE%', `/console/_assets/${style}`)
  // Written aside and renamed: a verso starting meanwhile reads the old page or the new one, never half of one.
  writeFileSync(join(CONSOLE_OUT, 'index.html.tmp'), page)
  renameSync(join(CONSOLE_OUT, 'index.html.tmp'), join(CONSOLE_OUT, 'index.html'))
  // Older builds' assets go: the page names only these.
  for (const name of readdirSync(assets)) if (!outputs.includes(name)) rmSync(join(assets, name))
  writeFileSync(CONSOLE_STAMP, new Date().toISOString() + '\n')
  return { script, style }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { script, style } = await buildConsole()
  process.stdout.write(`console built: dist/console/_assets/${script}, ${style}\n`)
}
