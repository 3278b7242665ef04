import { ZERO_ID } from '../models/entity.js'
import type { Item } from '../storage/item-mapping.js'

/** A version as the integrity report names it. */
export interface VersionRef {
  version: string
  changed_on?: string
  changed_by_id?: string
}

/** Two or more versions naming the same predecessor: each child started from `parent` without seeing the others. */
export interface Fork {
  /** The shared predecessor (only `version` when it is itself missing, or the zero id of two creations). */
  parent: VersionRef
  children: VersionRef[]
}

/** A predecessor that some version names but that is neither in the audit table nor the current version. */
export interface Gap {
  version: string
  named_by: VersionRef[]
}

export interface ChainReport {
  /** No fork and no gap: the versions form one chain from the creation to the current version. */
  linear: boolean
  /** The version in the main table: of a fork's children, the one that won. */
  current_version: string
  /** Versions read (the current one and the audit table's). */
  versions: number
  forks: Fork[]
  gaps: Gap[]
}

/** The attributes the check reads: enough to project on when every version of a table is read. */
export const CHAIN_ATTRIBUTES = ['entity_id', 'version', 'previous_version', 'changed_on', 'changed_by_id'] as const

const refOf = (item: Item): VersionRef => ({
  version: item.version?.S ?? '',
  ...(item.changed_on?.S === undefined ? {} : { changed_on: item.changed_on.S }),
  ...(item.changed_by_id?.S === undefined ? {} : { changed_by_id: item.changed_by_id.S })
})

/** Older first, as a reader follows a history; the version breaks ties (Rococo's clock may repeat). */
const byTime = (a: VersionRef, b: VersionRef): number =>
  (a.changed_on ?? '').localeCompare(b.changed_on ?? '') || a.version.localeCompare(b.version)

/**
 * Whether an entity's versions (its main item and its audit items, in any order) form one chain. Every
 * version names its predecessor in `previous_version`; the first names the zero id (or nothing, in items
 * another writer made by hand). A version that appears twice (the current one copied into the audit table by
 * a writer that then failed) counts once. Pure: the caller reads the items.
 */
export function chainReport (current: Item, audit: Iterable<Item>): ChainReport {
  const versions = new Map<string, VersionRef>()
  const children = new Map<string, VersionRef[]>()
  for (const item of [current, ...audit]) {
    const ref = refOf(item)
    if (ref.version === '' || versions.has(ref.version)) continue
    versions.set(ref.version, ref)
    const previous = item.previous_version?.S
    if (previous === undefined || previous === '') continue
    const siblings = children.get(previous)
    if (siblings === undefined) children.set(previous, [ref])
    else siblings.push(ref)
  }
  const forks: Fork[] = []
  const gaps: Gap[] = []
  for (const [previous, named] of children) {
    named.sort(byTime)
    if (named.length > 1) forks.push({ parent: versions.get(previous) ?? { version: previous }, children: named })
    if (previous !== ZERO_ID && !versions.has(previous)) gaps.push({ version: previous, named_by: named })
  }
  forks.sort((a, b) => byTime(a.children[0]!, b.children[0]!))
  gaps.sort((a, b) => byTime(a.named_by[0]!, b.named_by[0]!))
  return { linear: forks.length === 0 && gaps.length === 0, current_version: current.version?.S ?? '', versions: versions.size, forks, gaps }
}

/** What the Verso-Chain header says of a history that is not one chain: `forked`, `gapped`, or both. */
export function chainBreaks (report: ChainReport): string | undefined {
  const breaks = [...(report.forks.length > 0 ? ['forked'] : []), ...(report.gaps.length > 0 ? ['gapped'] : [])]
  return breaks.length === 0 ? undefined : breaks.join(', ')
}
