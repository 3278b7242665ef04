import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { api, loadModels, type Entity, type JsonSchema, type ModelInfo, type Page } from './api.js'
import { entitiesHref, entityHref, listQuery, modelsHref, OPERATORS, parseFilters, type Filter } from './route.js'
import { formatChangedOn, ownFields } from './timeline.js'
import { FieldValue, Link, Loading, navigate, ProblemView, useLoad } from './ui.js'

const typeOf = (schema: JsonSchema): string | undefined => {
  const types = [schema.type, ...(schema.anyOf ?? []).map((s) => s.type)].flat().filter((t) => t !== undefined && t !== 'null')
  return types.length === 1 ? types[0] : undefined
}

/** The fields the API filters on: the declared text, number and boolean fields (docs/queries.md). */
export const filterableFields = (model: ModelInfo): string[] =>
  Object.entries(model.schema.properties ?? {}).filter(([, s]) => ['string', 'number', 'integer', 'boolean'].includes(typeOf(s) ?? '')).map(([f]) => f)

export async function findModel (path: string): Promise<ModelInfo> {
  const found = (await loadModels()).find((m) => m.path === path)
  if (found === undefined) throw new Error(`verso serves no model at /${path}`)
  return found
}

interface Listed { model: ModelInfo, page: Page<Entity>, plan: string | null }

/** One page of a model's list with the URL's filters; the plan verso chose (X-Query-Plan) and its cursors. */
export function EntitiesPage (props: { model: string, query: URLSearchParams }): JSX.Element {
  const search = props.query.toString()
  const [listed] = useLoad<Listed>(async () => {
    const model = await findModel(props.model)
    const query = new URLSearchParams(props.query)
    query.set('limit', '25')
    const answer = await api<Page<Entity>>(`/${encodeURIComponent(model.path)}?${query.toString()}`)
    return { model, page: answer.body, plan: answer.headers.get('x-query-plan') }
  }, [props.model, search])
  return (
    <>
      <nav aria-label='Breadcrumb' class='crumbs'><Link href={modelsHref()}>Models</Link> › <span>{props.model}</span></nav>
      <h1>{listed.state === 'done' ? listed.value.model.name : props.model}</h1>
      {listed.state === 'done' && <FilterForm key={search} model={listed.value.model} query={props.query} />}
      {listed.state === 'loading' && <Loading what='the list' />}
      {listed.state === 'failed' && <ProblemView problem={listed.problem} />}
      {listed.state === 'done' && <Results {...listed.value} query={props.query} />}
    </>
  )
}

function FilterForm (props: { model: ModelInfo, query: URLSearchParams }): JSX.Element {
  const fields = filterableFields(props.model)
  const [filters, setFilters] = useState<Filter[]>(parseFilters(props.query))
  const [includeDeleted, setIncludeDeleted] = useState(props.query.get('include_deleted') === 'true')
  const change = (i: number, part: Partial<Filter>): void => { setFilters(filters.map((f, j) => (j === i ? { ...f, ...part } : f))) }
  const submit = (e: Event): void => {
    e.preventDefault()
    navigate(entitiesHref(props.model.path, listQuery(filters, { include_deleted: includeDeleted })))
  }
  const indexes = props.model.indexes
  return (
    <form class='filters' onSubmit={submit} aria-label='Filters'>
      <p class='muted'>
        {indexes.length === 0
          ? 'No index: every filter is a scan.'
          : `An equality filter on ${indexes.map((i) => `${i.hash}${i.range === undefined ? '' : ` (sorted by ${i.range})`}`).join(' or ')} is served by an index; anything else scans.`}
      </p>
      {filters.map((f, i) => (
        <fieldset key={i} class='filter'>
          <legend class='visually-hidden'>Filter {i + 1}</legend>
          <label>Field{' '}
            <select value={f.field} onChange={(e) => { change(i, { field: e.currentTarget.value }) }}>
              {[...new Set([f.field, ...fields])].filter((x) => x !== '').map((x) => <option key={x} value={x}>{x}</option>)}
            </select>
          </label>
          <label>Operator{' '}
            <select value={f.op} onChange={(e) => { change(i, { op: e.currentTarget.value as Filter['op'] }) }}>
              {OPERATORS.map((op) => <option key={op} value={op}>{op}</option>)}
            </select>
          </label>
          <label>Value <input value={f.value} onInput={(e) => { change(i, { value: e.currentTarget.value }) }} /></label>
          <button type='button' onClick={() => { setFilters(filters.filter((_, j) => j !== i)) }}>Remove filter {i + 1}</button>
        </fieldset>
      ))}
      <div class='row'>
        <button type='button' disabled={fields.length === 0} onClick={() => { setFilters([...filters, { field: fields[0] ?? '', op: 'eq', value: '' }]) }}>Add a filter</button>
        <label class='check'><input type='checkbox' checked={includeDeleted} onChange={(e) => { setIncludeDeleted(e.currentTarget.checked) }} /> Include deleted</label>
        <button type='submit' class='primary'>Search</button>
      </div>
    </form>
  )
}

function Results (props: Listed & { query: URLSearchParams }): JSX.Element {
  const { model, page, plan } = props
  const columns = Object.keys(model.schema.properties ?? {}).slice(0, 4)
  const next = new URLSearchParams(props.query)
  if (page.next_cursor !== null) next.set('cursor', page.next_cursor)
  const first = new URLSearchParams(props.query)
  first.delete('cursor')
  return (
    <section aria-labelledby='results'>
      <h2 id='results'>Entities</h2>
      <p>Query plan: <code class='plan'>{plan ?? '—'}</code>{plan === 'scan' ? ' (a Scan: no index serves these filters)' : ''}</p>
      {page.items.length === 0
        ? <p>No entity on this page{page.next_cursor === null ? '.' : ': DynamoDB filters after reading, so a page can be empty and still have a next one.'}</p>
        : (
          <table class='list'>
            <caption class='visually-hidden'>{model.name} entities</caption>
            <thead><tr><th scope='col'>Entity</th>{columns.map((c) => <th key={c} scope='col'>{c}</th>)}<th scope='col'>Changed on</th>{model.versioned && <th scope='col'>State</th>}</tr></thead>
            <tbody>
              {page.items.map((e) => {
                const own = ownFields(e)
                return (
                  <tr key={e.entity_id} class={e.active === false ? 'deleted' : undefined}>
                    <td><Link href={entityHref(model.path, e.entity_id)}><code>{e.entity_id}</code></Link></td>
                    {columns.map((c) => <td key={c}><FieldValue value={own[c]} /></td>)}
                    <td>{formatChangedOn(e.changed_on)}</td>
                    {model.versioned && <td>{e.active === false ? 'deleted' : 'active'}</td>}
                  </tr>
                )
              })}
            </tbody>
          </table>
          )}
      <nav class='row' aria-label='Pages'>
        {props.query.has('cursor') && <Link href={entitiesHref(model.path, first)}>First page</Link>}
        {page.next_cursor !== null && <Link href={entitiesHref(model.path, next)}>Next page</Link>}
      </nav>
    </section>
  )
}
