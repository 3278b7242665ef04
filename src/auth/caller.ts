/** An authenticated caller: its id becomes `changed_by_id`; its scopes matter only with AUTH_SCOPES=true. */
export interface Caller {
  id: string
  scopes: ReadonlySet<string>
}
