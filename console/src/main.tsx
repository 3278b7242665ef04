import { render, type JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { credentials } from './api.js'
import { EntitiesPage } from './entities-page.js'
import { EntityPage } from './entity-page.js'
import { ModelsPage } from './models-page.js'
import { modelsHref, parseRoute } from './route.js'
import { Link, useLocation } from './ui.js'

/** The key or token for this tab: typed once, kept in sessionStorage, sent as Authorization: Bearer. */
function Credentials (props: { onChange: () => void }): JSX.Element {
  const [open, setOpen] = useState(false)
  const [typed, setTyped] = useState('')
  const signedIn = credentials.get() !== null
  const save = (e: Event): void => {
    e.preventDefault()
    if (typed.trim() === '') return
    credentials.set(typed.trim())
    setTyped('')
    setOpen(false)
    props.onChange()
  }
  const forget = (): void => { credentials.clear(); props.onChange() }
  return (
    <div class='credentials'>
      <span class='muted' aria-live='polite'>{signedIn ? 'Using your key or token (this tab only)' : 'Anonymous'}</span>
      {signedIn && <button type='button' onClick={forget}>Forget credentials</button>}
      <button type='button' aria-expanded={open} aria-controls='credentials-form' onClick={() => { setOpen(!open) }}>Credentials</button>
      {open && (
        <form id='credentials-form' class='credentials-form' onSubmit={save}>
          <label for='secret'>API key or bearer token</label>
          <input id='secret' type='password' autocomplete='off' value={typed} onInput={(e) => { setTyped(e.currentTarget.value) }} />
          <button type='submit'>Use for this tab</button>
        </form>
      )}
    </div>
  )
}

function App (): JSX.Element {
  const { pathname, search } = useLocation()
  const [signIn, setSignIn] = useState(0)
  const route = parseRoute(pathname, search)
  const main = useRef<HTMLElement>(null)
  // A new page moves the focus to its content, as a page load would, so keyboard and screen reader users start there.
  const first = useRef(true)
  useEffect(() => {
    if (first.current) { first.current = false; return }
    main.current?.focus()
  }, [pathname])
  const key = `${signIn}`
  return (
    <>
      <header class='top'>
        <Link href={modelsHref()} class='brand'>verso console</Link>
        <Credentials onChange={() => { setSignIn((n) => n + 1) }} />
      </header>
      <main id='main' ref={main} tabIndex={-1}>
        {route.page === 'models' && <ModelsPage key={key} />}
        {route.page === 'entities' && <EntitiesPage key={key} model={route.model} query={route.query} />}
        {route.page === 'entity' && <EntityPage key={`${key}:${route.model}:${route.id}`} model={route.model} id={route.id} query={route.query} />}
        {route.page === 'unknown' && <p>Nothing here. <Link href={modelsHref()}>See the models</Link>.</p>}
      </main>
    </>
  )
}

const root = document.getElementById('app')
if (root !== null) render(<App />, root)
