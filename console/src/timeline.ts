// What each version of an entity was, for the timeline, and which fields a diff touches. Pure: no DOM,
// unit-tested in test/console/.

/** Rococo's zero id: `previous_version` of a first version, `changed_by_id` of an anonymous write. */
export const ZERO_ID = '00000000000040008000000000000000'
/** Fields verso manages on every version; the rest are the entity's own. */
export const META_FIELDS = ['entity_id', 'version', 'previous_version', 'active', 'changed_by_id', 'changed_on'] as const

export interface Version {
  version?: string
  previous_version?: string
  active?: boolean
  [field: string]: unknown
}

export type Action = 'created' | 'updated' | 'deleted' | 'restored'

export interface Described {
  action: Action
  /** For a restore told by its fields: the older version whose fields it has. */
  sameAs?: string
}

export const ownFields = (version: Version): Record<string, unknown> =>
  Object.fromEntries(Object.entries(version).filter(([key]) => !(META_FIELDS as readonly string[]).includes(key)))

/** JSON with object members sorted, so two equal values give the same text. */
export function canonical (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/**
 * The action of every version of a history, newest first. A version stores no action (Rococo's items have
 * none; the change event that names it is not part of the API), so it is told from what the versions hold:
 * - `created`: the first version (previous_version is the zero id);
 * - `deleted`: active is false (a soft delete is the only write that makes one);
 * - `restored`: active again after a deleted version (only a restore undeletes), or the entity's own fields
 *   equal those of an older version other than its predecessor (what a restore writes; an update that writes
 *   exactly those values back looks the same);
 * - `updated`: anything else.
 * `known` holds versions that are not shown but help: the predecessor of the oldest version loaded.
 */
export function describeVersions (versions: readonly Version[], known: ReadonlyMap<string, Version> = new Map()): Described[] {
  const byVersion = new Map<string, Version>(known)
  for (const v of versions) if (v.version !== undefined) byVersion.set(v.version, v)
  const fingerprints = versions.map((v) => canonical(ownFields(v)))
  return versions.map((v, i) => {
    if (v.previous_version === undefined || v.previous_version === ZERO_ID) return { action: 'created' }
    if (v.active === false) return { action: 'deleted' }
    const previous = byVersion.get(v.previous_version)
    if (previous?.active === false) return { action: 'restored' }
    if (previous !== undefined && canonical(ownFields(previous)) === fingerprints[i]) return { action: 'updated' }
    for (let j = i + 1; j < versions.length; j++) {
      const older = versions[j] as Version
      if (older.version !== v.previous_version && fingerprints[j] === fingerprints[i]) {
        return older.version === undefined ? { action: 'restored' } : { action: 'restored', sameAs: older.version }
      }
    }
    return { action: 'updated' }
  })
}

/** The top-level fields an RFC 6902 patch touches (`/metadata/city` touches `metadata`), in patch order. */
export function changedFields (patch: ReadonlyArray<{ path: string, from?: string }>): string[] {
  const fields = new Set<string>()
  const top = (pointer: string): string | undefined => {
    const first = pointer.split('/')[1]
    return first === undefined ? undefined : first.replaceAll('~1', '/').replaceAll('~0', '~')
  }
  for (const op of patch) {
    for (const pointer of [op.path, op.from]) {
      const field = pointer === undefined ? undefined : top(pointer)
      if (field !== undefined) fields.add(field)
    }
  }
  return [...fields]
}

/** The rows of a comparison: every own field of either version, the model's declared ones first, in their order. */
export function comparedFields (declared: readonly string[], a: Version, b: Version): string[] {
  const present = new Set([...Object.keys(ownFields(a)), ...Object.keys(ownFields(b))])
  return [...declared.filter((f) => present.has(f)), ...[...present].filter((f) => !declared.includes(f)).sort()]
}

/** `changed_on` (`2026-11-26T23:51:48.540000+00:00`) as `2026-11-26 23:51:48.540 UTC`, readable and unambiguous. */
export function formatChangedOn (changedOn: unknown, zone = ' UTC'): string {
  if (typeof changedOn !== 'string') return '—'
  const ms = Date.parse(changedOn)
  if (Number.isNaN(ms)) return changedOn
  return `${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}${zone}`
}

/**
 * A version or id short enough for a table: its last 8 hex digits. Not the first: those of a UUIDv7 are its
 * time, the same for every version written within a minute or so.
 */
export const shortId = (id: unknown): string => (typeof id === 'string' ? `…${id.slice(-8)}` : '—')
export const who = (changedBy: unknown): string => (changedBy === ZERO_ID ? 'anonymous' : typeof changedBy === 'string' ? changedBy : '—')

/** GET /{model}/{id}/integrity's answer (docs/history.md). */
export interface VersionRef { version: string, changed_on?: string, changed_by_id?: string }
export interface ChainReport {
  linear: boolean
  current_version: string
  versions: number
  forks: Array<{ parent: VersionRef, children: VersionRef[] }>
  gaps: Array<{ version: string, named_by: VersionRef[] }>
}

/**
 * The versions that are children of a fork, each with the predecessor it shares with its siblings, so the
 * timeline can say that the rows around it are branches, not one after another.
 */
export function forkParents (report: ChainReport | undefined): Map<string, string> {
  const parents = new Map<string, string>()
  for (const fork of report?.forks ?? []) for (const child of fork.children) parents.set(child.version, fork.parent.version)
  return parents
}

/** The Verso-Chain header (`forked`, `gapped`, `forked, gapped`) as words for the warning. */
export function chainWords (header: string): string {
  const breaks = header.split(',').map((b) => b.trim()).filter((b) => b !== '')
  return breaks.map((b) => (b === 'forked' ? 'it forks (two versions were written on the same one)' : b === 'gapped' ? 'it has gaps (a version names a predecessor stored nowhere)' : b)).join(' and ')
}
