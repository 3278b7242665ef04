import type { JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, problemOf, type Entity, type ModelInfo, type Page, type PatchOperation, type Problem } from './api.js'
import { findModel } from './entities-page.js'
import { asOfInstant, entitiesHref, entityHref, modelsHref } from './route.js'
import { chainWords, changedFields, comparedFields, describeVersions, forkParents, formatChangedOn, ownFields, shortId, who, type ChainReport, type Described, type VersionRef } from './timeline.js'
import { FieldValue, Link, Loading, navigate, ProblemView, useLoad } from './ui.js'

const PAGE = 50
const path = (model: ModelInfo, id: string, rest = ''): string => `/${encodeURIComponent(model.path)}/${encodeURIComponent(id)}${rest}`

interface Selection { a?: string | undefined, b?: string | undefined, as_of?: string | undefined }

/**
 * One entity: its current state (or the state at as_of), the timeline of its versions, a comparison of two of
 * them and restore. The URL names the versions compared and the instant, so the view can be linked.
 */
export function EntityPage (props: { model: string, id: string, query: URLSearchParams }): JSX.Element {
  const selection: Selection = { a: props.query.get('a') ?? undefined, b: props.query.get('b') ?? undefined, as_of: props.query.get('as_of') ?? undefined }
  const select = (next: Selection, replace = false): void => { navigate(entityHref(props.model, props.id, { ...selection, ...next }), { replace }) }
  // Bumped after a restore, or to see what someone else wrote: reloads the state and the timeline.
  const [generation, setGeneration] = useState(0)
  const [notice, setNotice] = useState<string | undefined>()
  const [loaded] = useLoad(async () => {
    const model = await findModel(props.model)
    const current = await api<Entity>(path(model, props.id, '?include_deleted=true'))
    return { model, current: current.body }
  }, [props.model, props.id, generation])
  const reload = (message?: string): void => { setNotice(message); setGeneration((n) => n + 1) }
  // Verso-Chain of the last /versions page or as_of answer that carried one, and the integrity check asked for.
  const [chain, setChain] = useState<string | undefined>()
  const [report, setReport] = useState<ChainReport | undefined>()
  const onChain = (header: string | null): void => { if (header !== null) setChain(header) }

  return (
    <>
      <nav aria-label='Breadcrumb' class='crumbs'>
        <Link href={modelsHref()}>Models</Link> › <Link href={entitiesHref(props.model)}>{props.model}</Link> › <span>{props.id}</span>
      </nav>
      <h1>{loaded.state === 'done' ? loaded.value.model.name : props.model} <code class='entity-id'>{props.id}</code></h1>
      {notice !== undefined && <p class='notice' role='status'>{notice}</p>}
      {loaded.state === 'loading' && <Loading what='the entity' />}
      {loaded.state === 'failed' && <ProblemView problem={loaded.problem} />}
      {loaded.state === 'done' && (
        <div class='entity-grid'>
          {chain !== undefined && <ChainPanel model={loaded.value.model} id={props.id} chain={chain} report={report} onReport={setReport} />}
          <StatePanel model={loaded.value.model} id={props.id} current={loaded.value.current} asOf={selection.as_of} onAsOf={(asOf) => { select({ as_of: asOf }) }} onChain={onChain} />
          {loaded.value.model.versioned
            ? <Timeline key={generation} model={loaded.value.model} id={props.id} current={loaded.value.current} selection={selection} onSelect={select} onChanged={reload} onChain={onChain} forks={forkParents(report)} />
            : <section class='panel'><h2>History</h2><p>{loaded.value.model.name} is not versioned: it keeps no history.</p></section>}
          {loaded.value.model.versioned && selection.a !== undefined && selection.b !== undefined && (
            <Compare key={`${selection.a}:${selection.b}:${generation}`} model={loaded.value.model} id={props.id} a={selection.a} b={selection.b} onClose={() => { select({ a: undefined, b: undefined }) }} />
          )}
        </div>
      )}
    </>
  )
}

function Fields (props: { model: ModelInfo, entity: Entity, caption: string }): JSX.Element {
  const own = ownFields(props.entity)
  const fields = comparedFields(Object.keys(props.model.schema.properties ?? {}), props.entity, props.entity)
  return (
    <table class='fields'>
      <caption class='visually-hidden'>{props.caption}</caption>
      <tbody>
        {fields.map((field) => <tr key={field}><th scope='row'>{field}</th><td><FieldValue value={own[field]} /></td></tr>)}
      </tbody>
    </table>
  )
}

function Meta (props: { entity: Entity }): JSX.Element {
  const e = props.entity
  return (
    <dl class='meta'>
      <dt>Version</dt><dd><code title={e.version}>{e.version ?? '—'}</code></dd>
      <dt>Changed by</dt><dd>{who(e.changed_by_id)}</dd>
      <dt>Changed on</dt><dd>{formatChangedOn(e.changed_on)}</dd>
      {e.active === false && <><dt>State</dt><dd><span class='badge deleted'>deleted</span></dd></>}
    </dl>
  )
}

/** The current state, or with as_of the version current at that instant (GET ?as_of=). */
function StatePanel (props: { model: ModelInfo, id: string, current: Entity, asOf: string | undefined, onAsOf: (asOf: string | undefined) => void, onChain: (header: string | null) => void }): JSX.Element {
  const [typed, setTyped] = useState(props.asOf ?? '')
  const [then] = useLoad(async () => {
    if (props.asOf === undefined) return undefined
    const answer = await api<Entity>(path(props.model, props.id, `?include_deleted=true&as_of=${encodeURIComponent(props.asOf)}`))
    props.onChain(answer.headers.get('verso-chain'))
    return answer.body
  }, [props.asOf])
  const submit = (e: Event): void => {
    e.preventDefault()
    props.onAsOf(typed.trim() === '' ? undefined : asOfInstant(typed))
  }
  return (
    <section class='panel state' aria-labelledby='state-title'>
      <h2 id='state-title'>{props.asOf === undefined ? 'Current state' : 'State at a point in time'}</h2>
      {props.model.versioned && (
        <form class='as-of' onSubmit={submit}>
          <label for='as-of'>Point in time (RFC 3339; UTC when no offset is given)</label>
          <div class='row'>
            <input id='as-of' value={typed} placeholder='2026-11-26T23:51:48Z' onInput={(e) => { setTyped(e.currentTarget.value) }} />
            <button type='submit'>Show</button>
            {props.asOf !== undefined && <button type='button' onClick={() => { setTyped(''); props.onAsOf(undefined) }}>Back to current</button>}
          </div>
        </form>
      )}
      {props.asOf === undefined && <><Meta entity={props.current} /><Fields model={props.model} entity={props.current} caption='Current fields' /></>}
      {props.asOf !== undefined && then.state === 'loading' && <Loading what='the state then' />}
      {props.asOf !== undefined && then.state === 'failed' && <ProblemView problem={then.problem} />}
      {props.asOf !== undefined && then.state === 'done' && then.value !== undefined && (
        <>
          <p>As of <strong>{props.asOf}</strong>{then.value.version === props.current.version ? ' (the current version)' : ''}:</p>
          <Meta entity={then.value} />
          <Fields model={props.model} entity={then.value} caption={`Fields as of ${props.asOf}`} />
        </>
      )}
    </section>
  )
}

interface History { versions: Entity[], cursor: string | null, known: Map<string, Entity> }

/** Every version, newest first, a page of PAGE at a time; choose two to compare, or one to restore. */
function Timeline (props: { model: ModelInfo, id: string, current: Entity, selection: Selection, onSelect: (s: Selection, replace?: boolean) => void, onChanged: (message?: string) => void, onChain: (header: string | null) => void, forks: Map<string, string> }): JSX.Element {
  const [history, setHistory] = useState<History>({ versions: [], cursor: null, known: new Map() })
  const [problem, setProblem] = useState<Problem | undefined>()
  const [loading, setLoading] = useState(true)
  const [restoring, setRestoring] = useState<Entity | undefined>()

  const more = async (from: History): Promise<void> => {
    setLoading(true)
    try {
      const query = `?limit=${PAGE}${from.cursor === null ? '' : `&cursor=${encodeURIComponent(from.cursor)}`}`
      const answer = await api<Page<Entity>>(path(props.model, props.id, `/versions${query}`))
      props.onChain(answer.headers.get('verso-chain'))
      const page = answer.body
      const versions = [...from.versions, ...page.items]
      const known = new Map(from.known)
      // The predecessor of the oldest version shown tells whether that one undeleted (docs/history.md, "History console").
      const oldest = versions.at(-1)
      const before = oldest?.previous_version
      if (page.next_cursor !== null && before !== undefined && !known.has(before)) {
        known.set(before, (await api<Entity>(path(props.model, props.id, `/versions/${before}`))).body)
      }
      setHistory({ versions, cursor: page.next_cursor, known })
      setProblem(undefined)
    } catch (err) {
      setProblem(problemOf(err))
    } finally {
      setLoading(false)
    }
  }
  useEffect(() => { more({ versions: [], cursor: null, known: new Map() }) }, [])

  const described = describeVersions(history.versions, history.known)
  const { a, b } = props.selection
  return (
    <section class='panel timeline' aria-labelledby='timeline-title'>
      <h2 id='timeline-title'>Timeline</h2>
      <p class='muted'>Choose two versions (A and B) to compare them; “Changes” compares a version with the one before it.</p>
      <div class='scroll'>
        <table class='versions'>
          <caption class='visually-hidden'>Versions, newest first</caption>
          <thead>
            <tr><th scope='col'>A</th><th scope='col'>B</th><th scope='col'>Version</th><th scope='col'>Action</th><th scope='col'>Who</th><th scope='col'>When (UTC)</th><th scope='col'><span class='visually-hidden'>Commands</span></th></tr>
          </thead>
          <tbody>
            {history.versions.map((v, i) => {
              const d = described[i] as Described
              const version = v.version ?? ''
              const isCurrent = version === props.current.version
              const previous = v.previous_version
              const forkOf = props.forks.get(version)
              return (
                <tr key={version} class={[version === a || version === b ? 'selected' : '', isCurrent ? 'current' : ''].join(' ').trim() || undefined} data-version={version}>
                  <td><input type='radio' name='compare-a' checked={version === a} aria-label={`Compare from version ${shortId(version)}`} onChange={() => { props.onSelect({ a: version }, true) }} /></td>
                  <td><input type='radio' name='compare-b' checked={version === b} aria-label={`Compare to version ${shortId(version)}`} onChange={() => { props.onSelect({ b: version }, true) }} /></td>
                  <td>
                    <code title={version}>{shortId(version)}</code>{isCurrent && <span class='badge'>current</span>}
                    {forkOf !== undefined && <span class='badge fork' title={`Written on ${forkOf}, as another version was`}>fork of {shortId(forkOf)}</span>}
                  </td>
                  <td>
                    <span class={`badge action ${d.action}`}>{d.action}</span>
                    {d.sameAs !== undefined && <span class='muted'> same fields as <code title={d.sameAs}>{shortId(d.sameAs)}</code></span>}
                  </td>
                  <td>{who(v.changed_by_id)}</td>
                  <td>{formatChangedOn(v.changed_on, '')}</td>
                  <td class='commands'>
                    {d.action !== 'created' && previous !== undefined && (
                      <Link href={entityHref(props.model.path, props.id, { ...props.selection, a: previous, b: version })}>Changes<span class='visually-hidden'> in version {shortId(version)}</span></Link>
                    )}
                    {!isCurrent && <button type='button' onClick={() => { setRestoring(v) }}>Restore<span class='visually-hidden'> version {shortId(version)}</span></button>}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </div>
      {problem !== undefined && <ProblemView problem={problem} />}
      {loading && <Loading what='versions' />}
      <p class='row'>
        <span class='muted' aria-live='polite'>{history.versions.length} version{history.versions.length === 1 ? '' : 's'} shown{history.cursor === null && !loading ? ', the whole history' : ''}</span>
        {history.cursor !== null && !loading && <button type='button' onClick={() => { more(history) }}>Load older versions</button>}
      </p>
      {restoring !== undefined && (
        <RestoreDialog
          model={props.model} id={props.id} target={restoring} basedOn={props.current}
          onClose={() => { setRestoring(undefined) }}
          onRestored={(state) => { setRestoring(undefined); props.onChanged(`Restored version ${shortId(restoring.version)}: the new version is ${shortId(state.version)}.`) }}
          onReload={() => { setRestoring(undefined); props.onChanged('Reloaded: the entity as it is now.') }}
        />
      )}
    </section>
  )
}

/**
 * Asks before restoring, then POSTs the restore with If-Match of the version the page shows: when someone else
 * wrote first, verso answers 412 and nothing is written, and the dialog says so.
 */
function RestoreDialog (props: { model: ModelInfo, id: string, target: Entity, basedOn: Entity, onClose: () => void, onRestored: (state: Entity) => void, onReload: () => void }): JSX.Element {
  const dialog = useRef<HTMLDialogElement>(null)
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<Problem | undefined>()
  useEffect(() => {
    dialog.current?.showModal()
    return () => { dialog.current?.close() }
  }, [])
  const target = props.target.version ?? ''
  const restore = async (): Promise<void> => {
    setBusy(true)
    try {
      const answer = await api<Entity>(path(props.model, props.id, `/versions/${target}/restore`), {
        method: 'POST',
        headers: { 'if-match': `"${props.basedOn.version ?? ''}"` }
      })
      props.onRestored(answer.body)
    } catch (err) {
      setProblem(problemOf(err))
      setBusy(false)
    }
  }
  const stale = problem?.status === 412
  return (
    <dialog ref={dialog} class='confirm' aria-labelledby='restore-title' onClose={props.onClose}>
      <h2 id='restore-title'>Restore version {shortId(target)}?</h2>
      <p>
        A new version of {props.model.name} <code>{props.id}</code> is written with the fields of version <code>{target}</code> ({formatChangedOn(props.target.changed_on)}, {who(props.target.changed_by_id)}).
        It replaces the version you are looking at, <code>{props.basedOn.version}</code>; the history keeps every version.
      </p>
      {stale && (
        <div class='problem' role='alert'>
          <p><strong>Someone else wrote first.</strong> This page shows version <code>{props.basedOn.version}</code>, but the entity is now at version <code>{problem?.current_version ?? 'unknown'}</code>. Nothing was restored.</p>
          <p>Reload to see what changed, then restore again if you still want to.</p>
        </div>
      )}
      {problem !== undefined && !stale && <ProblemView problem={problem} />}
      <div class='row'>
        {stale
          ? <button type='button' class='primary' onClick={props.onReload}>Reload the entity</button>
          : <button type='button' class='primary' disabled={busy} onClick={() => { restore() }}>Restore version {shortId(target)}</button>}
        <button type='button' onClick={() => { dialog.current?.close() }}>Cancel</button>
      </div>
    </dialog>
  )
}

interface Compared { a: Entity, b: Entity, patch: PatchOperation[] }

/** Two versions side by side; the fields the diff endpoint names are marked changed. */
function Compare (props: { model: ModelInfo, id: string, a: string, b: string, onClose: () => void }): JSX.Element {
  const [compared] = useLoad<Compared>(async () => {
    const [a, b, patch] = await Promise.all([
      api<Entity>(path(props.model, props.id, `/versions/${props.a}`)),
      api<Entity>(path(props.model, props.id, `/versions/${props.b}`)),
      api<PatchOperation[]>(path(props.model, props.id, `/versions/${props.a}/diff?to=${props.b}`))
    ])
    return { a: a.body, b: b.body, patch: patch.body }
  }, [props.a, props.b])
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => { heading.current?.scrollIntoView({ block: 'nearest' }) }, [props.a, props.b])
  return (
    <section class='panel compare' aria-labelledby='compare-title'>
      <div class='row spread'>
        <h2 id='compare-title' ref={heading}>Comparison</h2>
        <button type='button' onClick={props.onClose}>Close comparison</button>
      </div>
      {compared.state === 'loading' && <Loading what='the comparison' />}
      {compared.state === 'failed' && <ProblemView problem={compared.problem} />}
      {compared.state === 'done' && <CompareTable model={props.model} {...compared.value} />}
    </section>
  )
}

function CompareTable (props: Compared & { model: ModelInfo }): JSX.Element {
  const { a, b, patch } = props
  const rows = comparedFields(Object.keys(props.model.schema.properties ?? {}), a, b)
  const changed = new Set(changedFields(patch))
  const ownA = ownFields(a)
  const ownB = ownFields(b)
  const column = (label: string, e: Entity): JSX.Element => (
    <th scope='col'>
      {label}: <code title={e.version}>{shortId(e.version)}</code>
      <span class='muted block'>{formatChangedOn(e.changed_on)} · {who(e.changed_by_id)}{e.active === false ? ' · deleted' : ''}</span>
    </th>
  )
  return (
    <>
      <p role='status'>{changed.size === 0 ? 'No field differs between these versions.' : `${changed.size} field${changed.size === 1 ? '' : 's'} changed: ${rows.filter((f) => changed.has(f)).join(', ')}.`}</p>
      <table class='diff'>
        <caption class='visually-hidden'>Fields of version A and version B</caption>
        <thead><tr><th scope='col'>Field</th>{column('A', a)}{column('B', b)}</tr></thead>
        <tbody>
          {rows.map((field) => {
            const isChanged = changed.has(field)
            return (
              <tr key={field} class={isChanged ? 'changed' : undefined} data-field={field}>
                <th scope='row'>{field}{isChanged && <span class='badge changed-mark'>changed</span>}</th>
                <td><FieldValue value={ownA[field]} /></td>
                <td><FieldValue value={ownB[field]} /></td>
              </tr>
            )
          })}
        </tbody>
      </table>
      {patch.length > 0 && (
        <details>
          <summary>JSON Patch from A to B ({patch.length} operation{patch.length === 1 ? '' : 's'})</summary>
          <pre class='json'>{JSON.stringify(patch, null, 2)}</pre>
        </details>
      )}
    </>
  )
}

const refText = (ref: VersionRef): string => `${shortId(ref.version)} (${who(ref.changed_by_id)}, ${formatChangedOn(ref.changed_on)})`

/**
 * Shown when an answer carried Verso-Chain: the versions are not one chain (another writer saved without the
 * lock), so the timeline is in time order only. "Check integrity" asks GET /{model}/{id}/integrity which
 * versions fork and which predecessors are missing.
 */
function ChainPanel (props: { model: ModelInfo, id: string, chain: string, report: ChainReport | undefined, onReport: (report: ChainReport) => void }): JSX.Element {
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<Problem | undefined>()
  const check = async (): Promise<void> => {
    setBusy(true)
    try {
      props.onReport((await api<ChainReport>(path(props.model, props.id, '/integrity'))).body)
      setProblem(undefined)
    } catch (err) {
      setProblem(problemOf(err))
    } finally {
      setBusy(false)
    }
  }
  const { report } = props
  return (
    <section class='panel chain' aria-labelledby='chain-title'>
      <div role='alert'>
        <h2 id='chain-title'>Warning: this history is not one chain</h2>
        <p>verso says {chainWords(props.chain)} (<code>Verso-Chain: {props.chain}</code>). Another writer saved without verso's lock, so an update may have been lost; the timeline lists the versions in time order, not one after another.</p>
      </div>
      <button type='button' disabled={busy} onClick={() => { check() }}>Check integrity</button>
      {problem !== undefined && <ProblemView problem={problem} />}
      {report !== undefined && (
        <div class='chain-report' role='status'>
          <p>{report.versions} versions read; {report.forks.length} fork{report.forks.length === 1 ? '' : 's'}, {report.gaps.length} gap{report.gaps.length === 1 ? '' : 's'}.</p>
          {report.forks.length > 0 && (
            <>
              <h3>Forks</h3>
              <ul class='forks'>
                {report.forks.map((fork) => (
                  <li key={fork.parent.version}>
                    <code title={fork.parent.version}>{refText(fork.parent)}</code> → {fork.children.length} versions written on it:
                    <ul>
                      {fork.children.map((child) => (
                        <li key={child.version}>
                          <code title={child.version}>{refText(child)}</code>
                          {child.version === report.current_version ? <span class='badge'>current</span> : <span class='muted'> replaced</span>}
                        </li>
                      ))}
                    </ul>
                  </li>
                ))}
              </ul>
            </>
          )}
          {report.gaps.length > 0 && (
            <>
              <h3>Gaps</h3>
              <ul class='gaps'>
                {report.gaps.map((gap) => (
                  <li key={gap.version}>
                    <code title={gap.version}>{shortId(gap.version)}</code> is stored nowhere, named by {gap.named_by.map((ref) => refText(ref)).join(', ')}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
    </section>
  )
}
