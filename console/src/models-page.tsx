import type { JSX } from 'preact'
import { loadModels } from './api.js'
import { entitiesHref } from './route.js'
import { Link, Loading, ProblemView, useLoad } from './ui.js'

/** GET /_models: every model served, each linking to its list. */
export function ModelsPage (): JSX.Element {
  const [models] = useLoad(loadModels, [])
  return (
    <>
      <h1>Models</h1>
      {models.state === 'loading' && <Loading what='the models' />}
      {models.state === 'failed' && <ProblemView problem={models.problem} />}
      {models.state === 'done' && (
        <table class='list'>
          <caption class='visually-hidden'>Models served by verso</caption>
          <thead><tr><th scope='col'>Model</th><th scope='col'>Description</th><th scope='col'>History</th><th scope='col'>Indexes</th></tr></thead>
          <tbody>
            {models.value.map((m) => (
              <tr key={m.path}>
                <td><Link href={entitiesHref(m.path)}>{m.name}</Link> <code class='muted'>/{m.path}</code></td>
                <td>{m.description}</td>
                <td>{m.versioned ? 'versioned' : 'not versioned'}</td>
                <td>{m.indexes.length === 0 ? '—' : m.indexes.map((i) => `${i.hash}${i.range === undefined ? '' : ` → ${i.range}`}`).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  )
}
