import t from 'tap'
import { setup, json } from '../support/helper.js'

t.test('create then read', async (t) => {
  const { app } = await setup(t)
  const res = await app.inject({ method: 'POST', url: '/person', payload: { first_name: 'Ada', last_name: 'Lovelace' } })
  t.equal(res.statusCode, 201)
  const got = await app.inject({ method: 'GET', url: `/person/${String(json(res).entity_id)}` })
  t.equal(got.statusCode, 200)
  t.equal(json(got).first_name, 'Ada')
})
