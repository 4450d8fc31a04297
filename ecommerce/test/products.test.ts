import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { createHarness, type Harness } from './helpers'

let h: Harness
let admin: string
beforeAll(async () => {
  h = await createHarness()
  admin = await h.adminToken()
})
afterAll(() => h.close())

const body = (sku: string, quantity = 3) => ({ sku, name: `Name ${sku}`, description: 'Short description', quantity })

describe('creating products', () => {
  test('409 warehouse-address-required until the seller has a warehouse address', async () => {
    const s = await h.seller('NoWarehouse', admin, { warehouse: null })
    const r = await h.request('POST', '/products', { token: s.token, body: body('W-1') })
    expect(r.status).toBe(409)
    expect(r.body.code).toBe('warehouse-address-required')
    await h.request('PATCH', `/sellers/${s.id}`, { token: s.token, body: { warehouse_address: 'Dock 9' } })
    const ok = await h.request('POST', '/products', { token: s.token, body: body('W-1') })
    expect(ok.status).toBe(201)
    expect(ok.headers.get('location')).toBe(`/products/${ok.body.id}`)
    expect(ok.body).toMatchObject({ seller_id: s.id, sku: 'W-1', name: 'Name W-1', description: 'Short description', quantity: 3 })
  })

  test('only seller users create products: customer and admin 403, anonymous 401', async () => {
    const c = await h.customer()
    expect((await h.request('POST', '/products', { token: c.token, body: body('X') })).status).toBe(403)
    expect((await h.request('POST', '/products', { token: admin, body: body('X') })).status).toBe(403)
    expect((await h.request('POST', '/products', { body: body('X') })).status).toBe(401)
  })

  test('sku is unique per seller (409), but two sellers may share one', async () => {
    const a = await h.seller('SkuA', admin)
    const b = await h.seller('SkuB', admin)
    await h.product(a.token, 'SAME', 1)
    const dup = await h.request('POST', '/products', { token: a.token, body: body('SAME') })
    expect(dup.status).toBe(409)
    expect(dup.body.code).toBe('sku-taken')
    expect((await h.request('POST', '/products', { token: b.token, body: body('SAME') })).status).toBe(201)
  })

  test('quantity must be a whole number ≥ 0 (422)', async () => {
    const s = await h.seller('Qty', admin)
    expect((await h.request('POST', '/products', { token: s.token, body: body('Q', -1) })).status).toBe(422)
    expect((await h.request('POST', '/products', { token: s.token, body: body('Q', 1.5) })).status).toBe(422)
    expect((await h.request('POST', '/products', { token: s.token, body: body('Q', 0) })).status).toBe(201)
  })
})

describe('catalogue', () => {
  test('anyone lists and views products; ?seller_id filters; pagination', async () => {
    const s = await h.seller('Catalog', admin)
    const p1 = await h.product(s.token, 'C-1', 1)
    const p2 = await h.product(s.token, 'C-2', 2)
    const list = await h.request('GET', `/products?seller_id=${s.id}`)
    expect(list.status).toBe(200)
    expect(list.body.total).toBe(2)
    expect(list.body.data.map((p: any) => p.id).sort()).toEqual([p1.id, p2.id].sort())
    const page = await h.request('GET', `/products?seller_id=${s.id}&limit=1&offset=1`)
    expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 1 })
    expect(page.body.data).toHaveLength(1)
    expect((await h.request('GET', `/products/${p1.id}`)).body.sku).toBe('C-1')
    expect((await h.request('GET', '/products?limit=101')).status).toBe(422)
    expect((await h.request('GET', '/products?seller_id=nope')).status).toBe(422)
    const all = await h.request('GET', '/products')
    expect(all.body.limit).toBe(20)
  })

  test('a product reads the same by id as in the list and as created, to the millisecond, whatever its text', async () => {
    // The read by id is SQL sent by the driver itself (its own formatting); the rest go through drizzle.
    const s = await h.seller('Same', admin)
    const text = 'Ünïcode "quoted" \\ back\tslash, emoji 📦, <b>tags</b>'
    const created = await h.request('POST', '/products', {
      token: s.token,
      body: { sku: 'SAME-1', name: text, description: text, quantity: 1_000_000_000 },
    })
    expect(created.status).toBe(201)
    const id = created.body.id
    // Microseconds and a date far from now: milliseconds truncated, as toISOString does.
    await h.db.execute(
      sql`update products set created_at = '1999-12-31 23:59:59.999999+00', updated_at = '2030-06-07 08:09:10.000500+02' where id = ${id}`,
    )
    const listed = (await h.request('GET', `/products?seller_id=${s.id}`)).body.data[0]
    const read = await h.request('GET', `/products/${id}`)
    expect(read.status).toBe(200)
    expect(read.body).toEqual(listed)
    expect(read.body).toEqual({ ...created.body, created_at: '1999-12-31T23:59:59.999Z', updated_at: '2030-06-07T06:09:10.000Z' })
    expect(Object.keys(read.body).sort()).toEqual(Object.keys(created.body).sort())
  })
})

describe('editing and deleting', () => {
  test("a seller user edits and deletes its own products; another seller's product answers 404", async () => {
    const a = await h.seller('EditA', admin)
    const b = await h.seller('EditB', admin)
    const p = await h.product(a.token, 'E-1', 4)
    const edit = await h.request('PATCH', `/products/${p.id}`, { token: a.token, body: { quantity: 10, name: 'Renamed' } })
    expect(edit.status).toBe(200)
    expect(edit.body).toMatchObject({ quantity: 10, name: 'Renamed', sku: 'E-1' })
    expect((await h.request('PATCH', `/products/${p.id}`, { token: b.token, body: { quantity: 0 } })).status).toBe(404)
    expect((await h.request('DELETE', `/products/${p.id}`, { token: b.token })).status).toBe(404)
    const c = await h.customer()
    expect((await h.request('PATCH', `/products/${p.id}`, { token: c.token, body: { quantity: 0 } })).status).toBe(403)
    expect(await h.stock(p.id)).toBe(10)
    const del = await h.request('DELETE', `/products/${p.id}`, { token: a.token })
    expect(del.status).toBe(204)
    expect((await h.request('GET', `/products/${p.id}`)).status).toBe(404)
    expect((await h.request('PATCH', `/products/${p.id}`, { token: a.token, body: { quantity: 1 } })).status).toBe(404)
    // the sku is free again after a delete
    expect((await h.request('POST', '/products', { token: a.token, body: body('E-1') })).status).toBe(201)
  })

  test('renaming to a taken sku answers 409', async () => {
    const a = await h.seller('Rename', admin)
    await h.product(a.token, 'R-1', 1)
    const p2 = await h.product(a.token, 'R-2', 1)
    const r = await h.request('PATCH', `/products/${p2.id}`, { token: a.token, body: { sku: 'R-1' } })
    expect(r.status).toBe(409)
  })
})
