import type { ComponentChildren, JSX } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { problemOf, type Problem } from './api.js'

type Listener = () => void
const listeners = new Set<Listener>()
/** Moves to a console URL without reloading the page; the back button comes back (popstate). */
export function navigate (href: string, options: { replace?: boolean } = {}): void {
  if (options.replace === true) history.replaceState(null, '', href)
  else history.pushState(null, '', href)
  for (const listener of listeners) listener()
}
export function useLocation (): { pathname: string, search: string } {
  const [, setTick] = useState(0)
  useEffect(() => {
    const changed = (): void => { setTick((n) => n + 1) }
    listeners.add(changed)
    addEventListener('popstate', changed)
    return () => { listeners.delete(changed); removeEventListener('popstate', changed) }
  }, [])
  return { pathname: location.pathname, search: location.search }
}

/** A real link (open in a new tab, copy its address) that a plain click follows inside the page. */
export function Link (props: { href: string, children: ComponentChildren, class?: string, 'aria-current'?: 'page' }): JSX.Element {
  const follow = (e: MouseEvent): void => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    e.preventDefault()
    navigate(props.href)
  }
  return <a href={props.href} class={props.class} aria-current={props['aria-current']} onClick={follow}>{props.children}</a>
}

export type Loaded<T> = { state: 'loading' } | { state: 'failed', problem: Problem } | { state: 'done', value: T }

/** Runs `load` whenever a key changes; the answer of an older key that arrives late is dropped. */
export function useLoad<T> (load: () => Promise<T>, keys: readonly unknown[]): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' })
  const [again, setAgain] = useState(0)
  useEffect(() => {
    let current = true
    setLoaded({ state: 'loading' })
    load().then(
      (value) => { if (current) setLoaded({ state: 'done', value }) },
      (err: unknown) => { if (current) setLoaded({ state: 'failed', problem: problemOf(err) }) }
    )
    return () => { current = false }
  }, [...keys, again])
  return [loaded, () => { setAgain((n) => n + 1) }]
}

/** A problem+json answer as the user needs it: what happened, why, and the ids to quote when asking for help. */
export function ProblemView (props: { problem: Problem, children?: ComponentChildren }): JSX.Element {
  const { problem } = props
  return (
    <div class='problem' role='alert'>
      <p class='problem-title'><strong>{problem.title}</strong>{problem.status > 0 ? ` (${problem.status}${problem.code === undefined ? '' : ` ${problem.code}`})` : ''}</p>
      {problem.detail !== undefined && <p>{problem.detail}</p>}
      {problem.errors !== undefined && problem.errors.length > 0 && (
        <ul>{problem.errors.map((e) => <li key={e.path}><code>{e.path}</code> {e.message}</li>)}</ul>
      )}
      {problem.status === 401 && <p>Enter an API key or a token under “Credentials” above.</p>}
      {problem.request_id !== undefined && <p class='muted'>Request id <code>{problem.request_id}</code></p>}
      {props.children}
    </div>
  )
}

export function Loading (props: { what: string }): JSX.Element {
  return <p class='muted' role='status'>Loading {props.what}…</p>
}

/** Shows the value of a field: text as is, anything else as JSON. */
export function FieldValue (props: { value: unknown }): JSX.Element {
  const { value } = props
  if (value === undefined) return <span class='absent'>(absent)</span>
  if (typeof value === 'string') return <span class='text'>{value}</span>
  if (typeof value === 'object' && value !== null) return <pre class='json'>{JSON.stringify(value, null, 2)}</pre>
  return <code>{JSON.stringify(value)}</code>
}
