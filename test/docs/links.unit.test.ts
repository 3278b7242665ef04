/**
 * The documentation's own promises, checked without DynamoDB: README stays a front door (under 300 lines), every
 * relative link and #anchor in README.md, console/README.md and docs/*.md leads somewhere, and every docs page (and
 * section) the code cites exists.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The lines of a Markdown file outside fenced code blocks, where headings and links are Markdown. */
const proseLines = (text: string): string[] => {
  let fenced = false
  return text.split('\n').filter((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced
      return false
    }
    return !fenced
  })
}

/** The anchor GitHub gives a heading: its text lower-cased, punctuation dropped, each space a hyphen. */
const slug = (heading: string): string => heading
  .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text only
  .replace(/[`*]/g, '')
  .trim()
  .toLowerCase()
  .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
  .replace(/ /g, '-')

/** Every anchor of a Markdown file; repeated headings get -1, -2, … as on GitHub. */
const anchorsOf = (file: string): Set<string> => {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of proseLines(readFileSync(file, 'utf8'))) {
    const heading = /^#{1,6} (.+)$/.exec(line)?.[1]
    if (heading === undefined) continue
    const base = slug(heading)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

/** The targets of the inline links and images of a Markdown file, leaving out code spans. */
const linksOf = (file: string): string[] => {
  const targets: string[] = []
  for (const line of proseLines(readFileSync(file, 'utf8'))) {
    const prose = line.replace(/`[^`]*`/g, '')
    for (const match of prose.matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)) targets.push(match[1] ?? '')
  }
  return targets
}

const markdownFiles = [join(root, 'README.md'), join(root, 'console/README.md'), ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join(root, 'docs', name))]

t.test('README is the front door: under 300 lines', async (t) => {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').trimEnd().split('\n').length
  t.ok(lines < 300, `README.md has ${lines} lines`)
})

t.test('the slugs are GitHub\'s', async (t) => {
  t.equal(slug('Storage (Rococo-compatible)'), 'storage-rococo-compatible')
  t.equal(slug('`GET /{model}` and **forks**'), 'get-model-and-forks')
  t.equal(slug('Change events and the relay'), 'change-events-and-the-relay')
  t.equal(slug('What `as_of` answers'), 'what-as_of-answers')
})

t.test('every relative link and anchor in README.md, console/README.md and docs/*.md resolves', async (t) => {
  for (const file of markdownFiles) {
    const name = relative(root, file)
    for (const target of linksOf(file)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // https:, mailto: — not this repository's to check
      const [path = '', anchor] = target.split('#')
      const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path))
      if (!existsSync(resolved)) {
        t.fail(`${name}: ${target} names a file that does not exist`)
        continue
      }
      if (anchor === undefined) continue
      if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) {
        t.fail(`${name}: ${target} has an anchor into a file that is not Markdown`)
        continue
      }
      t.ok(anchorsOf(resolved).has(anchor), `${name}: ${target}`)
    }
  }
})

/** The files of a folder, recursively, whose names end in one of the extensions. */
const filesUnder = (dir: string, extensions: string[]): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
  const path = join(dir, entry.name)
  if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(path, extensions)
  return extensions.some((extension) => entry.name.endsWith(extension)) ? [path] : []
})

t.test('every docs page the code cites exists, and so does the section it names', async (t) => {
  const sources = ['src', 'console/src', 'scripts', 'bench', 'chaos'].flatMap((dir) => filesUnder(join(root, dir), ['.ts', '.tsx', '.mjs']))
  let cites = 0
  for (const file of [...sources, join(root, '.env.example')]) {
    for (const match of readFileSync(file, 'utf8').matchAll(/docs\/([\w-]+\.md)(?:, "([^"]+)")?/g)) {
      cites++
      const page = join(root, 'docs', match[1] ?? '')
      const where = `${relative(root, file)} cites docs/${match[1] ?? ''}`
      if (!existsSync(page)) {
        t.fail(`${where}, which does not exist`)
        continue
      }
      if (match[2] !== undefined) t.ok(anchorsOf(page).has(slug(match[2])), `${where}, "${match[2]}"`)
    }
  }
  t.ok(cites > 0, 'the code cites docs pages')
})
