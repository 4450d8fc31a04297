import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { count, eq } from 'drizzle-orm'
import { sellers, users } from '../src/db/schema'
import { createHarness, type Harness } from './helpers'

let h: Harness
let admin: string
beforeAll(async () => {
  h = await createHarness()
  admin = await h.adminToken()
})
afterAll(() => h.close())

const sellerBody = (email: string, extra: object = {}) => ({
  name: 'Acme',
  description: 'Anvils and rockets',
  admins: [{ email, password: 'acme-password', name: 'Wile' }],
  ...extra,
})

describe('creating sellers', () => {
  test('the admin creates a seller with its Seller Administrator User; 201 with Location', async () => {
    const r = await h.request('POST', '/sellers', { token: admin, body: sellerBody('Wile@Acme.test') })
    expect(r.status).toBe(201)
    expect(r.headers.get('location')).toBe(`/sellers/${r.body.id}`)
    expect(r.body).toMatchObject({ name: 'Acme', description: 'Anvils and rockets', warehouse_address: null })
    expect(r.body.users).toHaveLength(1)
    expect(r.body.users[0]).toMatchObject({ email: 'wile@acme.test', role: 'seller', seller_id: r.body.id, is_seller_admin: true })
    const login = await h.request('POST', '/auth/login', { body: { email: 'wile@acme.test', password: 'acme-password' } })
    expect(login.body.user).toMatchObject({ role: 'seller', seller_id: r.body.id })
  })

  test('an email collision answers 409 and creates nothing (one transaction)', async () => {
    const [before] = await h.db.select({ n: count() }).from(sellers)
    const r = await h.request('POST', '/sellers', {
      token: admin,
      body: sellerBody('fresh@acme.test', {
        admins: [
          { email: 'fresh@acme.test', password: 'acme-password', name: 'Fresh' },
          { email: 'WILE@acme.test', password: 'acme-password', name: 'Dup' },
        ],
      }),
    })
    expect(r.status).toBe(409)
    expect(r.body.code).toBe('email-taken')
    const [after] = await h.db.select({ n: count() }).from(sellers)
    expect(after!.n).toBe(before!.n)
    expect(await h.db.select().from(users).where(eq(users.email, 'fresh@acme.test'))).toHaveLength(0)
  })

  test('at least one admin is required (422)', async () => {
    const r = await h.request('POST', '/sellers', { token: admin, body: { ...sellerBody('x@acme.test'), admins: [] } })
    expect(r.status).toBe(422)
    expect(r.body.errors[0].path).toBe('admins')
  })

  test('a customer gets 403, no token 401, a seller user 403', async () => {
    const c = await h.customer()
    expect((await h.request('POST', '/sellers', { token: c.token, body: sellerBody('y@acme.test') })).status).toBe(403)
    expect((await h.request('POST', '/sellers', { body: sellerBody('y@acme.test') })).status).toBe(401)
    const s = await h.seller('Other', admin)
    expect((await h.request('POST', '/sellers', { token: s.token, body: sellerBody('y@acme.test') })).status).toBe(403)
  })
})

describe('viewing and editing sellers', () => {
  test('the admin lists all sellers; a seller user only its own; a customer 403', async () => {
    const a = await h.seller('Alpha', admin)
    const b = await h.seller('Beta', admin)
    const all = await h.request('GET', '/sellers?limit=100', { token: admin })
    expect(all.status).toBe(200)
    expect(all.body.data.map((s: any) => s.id)).toEqual(expect.arrayContaining([a.id, b.id]))
    expect(all.body).toMatchObject({ limit: 100, offset: 0 })
    expect(all.body.total).toBeGreaterThanOrEqual(2)
    const own = await h.request('GET', '/sellers', { token: a.token })
    expect(own.body.data.map((s: any) => s.id)).toEqual([a.id])
    expect(own.body.total).toBe(1)
    const c = await h.customer()
    expect((await h.request('GET', '/sellers', { token: c.token })).status).toBe(403)
  })

  test("a seller user views and edits its own seller; another seller's id answers 404", async () => {
    const a = await h.seller('Gamma', admin)
    const b = await h.seller('Delta', admin)
    expect((await h.request('GET', `/sellers/${a.id}`, { token: a.token })).body.name).toBe('Gamma')
    const other = await h.request('GET', `/sellers/${b.id}`, { token: a.token })
    expect(other.status).toBe(404)
    expect(JSON.stringify(other.body)).not.toContain('Delta')
    const patch = await h.request('PATCH', `/sellers/${a.id}`, {
      token: a.token,
      body: { description: 'New description', warehouse_address: 'Gamma Hall 2' },
    })
    expect(patch.status).toBe(200)
    expect(patch.body).toMatchObject({ name: 'Gamma', description: 'New description', warehouse_address: 'Gamma Hall 2' })
    expect((await h.request('PATCH', `/sellers/${b.id}`, { token: a.token, body: { name: 'Hacked' } })).status).toBe(404)
    expect((await h.request('PATCH', `/sellers/${a.id}`, { token: admin, body: { name: 'Gamma Corp' } })).body.name).toBe('Gamma Corp')
    expect((await h.request('PATCH', `/sellers/${a.id}`, { token: admin, body: {} })).status).toBe(422)
  })

  test('a warehouse address (or any required text) of invisible characters only answers 422 like a blank one', async () => {
    const a = await h.seller('Ghost', admin, { warehouse: null })
    for (const blank of ['', '   ', '\u200b', '\ufeff\u2060', '\u00a0\u3000', '\u202e\u200f', '\u3164']) {
      const r = await h.request('PATCH', `/sellers/${a.id}`, { token: a.token, body: { warehouse_address: blank, name: blank } })
      expect(r.status).toBe(422)
      expect(r.body.errors).toEqual([
        { path: 'name', message: 'name must not be empty' },
        { path: 'warehouse_address', message: 'warehouse_address must not be empty' },
      ])
    }
    expect((await h.request('GET', `/sellers/${a.id}`, { token: a.token })).body).toMatchObject({ name: 'Ghost', warehouse_address: null })
  })

  test('unknown and malformed ids answer 404', async () => {
    expect((await h.request('GET', `/sellers/${crypto.randomUUID()}`, { token: admin })).status).toBe(404)
    expect((await h.request('GET', '/sellers/not-a-uuid', { token: admin })).status).toBe(404)
  })
})

describe('seller users', () => {
  test('a Seller Administrator User adds and lists users; a plain seller user gets 403; another seller 404', async () => {
    const a = await h.seller('Epsilon', admin)
    const b = await h.seller('Zeta', admin)
    const add = await h.request('POST', `/sellers/${a.id}/users`, {
      token: a.token,
      body: { email: 'Clerk@Epsilon.test', password: 'clerk-password', name: 'Clerk' },
    })
    expect(add.status).toBe(201)
    expect(add.headers.get('location')).toBe(`/sellers/${a.id}/users/${add.body.id}`)
    expect(add.body).toMatchObject({ email: 'clerk@epsilon.test', is_seller_admin: false, seller_id: a.id })
    const clerk = await h.login('clerk@epsilon.test', 'clerk-password')
    const byClerk = await h.request('POST', `/sellers/${a.id}/users`, {
      token: clerk,
      body: { email: 'x@epsilon.test', password: 'clerk-password', name: 'X' },
    })
    expect(byClerk.status).toBe(403)
    expect((await h.request('GET', `/sellers/${a.id}/users`, { token: clerk })).status).toBe(403)
    // …but a plain seller user still views and edits its seller
    expect((await h.request('PATCH', `/sellers/${a.id}`, { token: clerk, body: { description: 'by clerk' } })).status).toBe(200)
    expect((await h.request('GET', `/sellers/${b.id}/users`, { token: a.token })).status).toBe(404)
    const list = await h.request('GET', `/sellers/${a.id}/users`, { token: a.token })
    expect(list.body.total).toBe(2)
    expect(list.body.data.map((u: any) => u.email)).toContain('clerk@epsilon.test')
    const byAdmin = await h.request('POST', `/sellers/${a.id}/users`, {
      token: admin,
      body: { email: 'boss@epsilon.test', password: 'boss-password', name: 'Boss', is_seller_admin: true },
    })
    expect(byAdmin.body.is_seller_admin).toBe(true)
    const dup = await h.request('POST', `/sellers/${a.id}/users`, {
      token: admin,
      body: { email: 'BOSS@epsilon.test', password: 'boss-password', name: 'Boss 2' },
    })
    expect(dup.status).toBe(409)
  })

  test("the Location of an added user answers it (admin, the seller's admins); a plain user 403; elsewhere 404", async () => {
    const a = await h.seller('Eta', admin)
    const b = await h.seller('Theta', admin)
    const add = await h.request('POST', `/sellers/${a.id}/users`, {
      token: a.token,
      body: { email: 'porter@eta.test', password: 'porter-password', name: 'Porter' },
    })
    expect(add.status).toBe(201)
    const location = add.headers.get('location')!
    for (const token of [a.token, admin]) {
      const view = await h.request('GET', location, { token })
      expect(view.status).toBe(200)
      expect(view.body).toEqual(add.body)
    }
    const porter = await h.login('porter@eta.test', 'porter-password')
    expect((await h.request('GET', location, { token: porter })).status).toBe(403)
    expect((await h.request('GET', location, { token: b.token })).status).toBe(404)
    expect((await h.request('GET', location)).status).toBe(401)
    // a user of another seller, under this seller's path (and a made-up id): 404, for the admin too
    const bList = await h.request('GET', `/sellers/${b.id}/users`, { token: b.token })
    expect((await h.request('GET', `/sellers/${a.id}/users/${bList.body.data[0].id}`, { token: admin })).status).toBe(404)
    expect((await h.request('GET', `/sellers/${a.id}/users/${crypto.randomUUID()}`, { token: a.token })).status).toBe(404)
    const bad = await h.request('GET', `/sellers/${a.id}/users/not-a-uuid`, { token: a.token })
    expect(bad.status).toBe(404)
    expect(bad.headers.get('content-type')).toContain('application/problem+json')
  })
})

describe('deleting sellers', () => {
  test('soft delete: 204, its users cannot log in, old tokens stop working, products leave the catalogue, orders stay', async () => {
    const s = await h.seller('Doomed', admin)
    const product = await h.product(s.token, 'D-1', 5)
    const c = await h.customer()
    const bought = await h.buy(c.token, [{ product_id: product.id, quantity: 2 }])
    expect(bought.status).toBe(201)
    const orderId = bought.body.orders[0].id

    expect((await h.request('DELETE', `/sellers/${s.id}`, { token: s.token })).status).toBe(403)
    const del = await h.request('DELETE', `/sellers/${s.id}`, { token: admin })
    expect(del.status).toBe(204)
    expect(del.text).toBe('')

    const login = await h.request('POST', '/auth/login', { body: { email: s.email, password: s.password } })
    expect(login.status).toBe(401)
    expect((await h.request('GET', '/me', { token: s.token })).status).toBe(401)
    expect((await h.request('GET', `/products/${product.id}`)).status).toBe(404)
    const catalogue = await h.request('GET', `/products?seller_id=${s.id}`)
    expect(catalogue.body.total).toBe(0)
    expect((await h.request('GET', `/sellers/${s.id}`, { token: admin })).status).toBe(404)
    expect((await h.request('DELETE', `/sellers/${s.id}`, { token: admin })).status).toBe(404)
    const order = await h.request('GET', `/orders/${orderId}`, { token: admin })
    expect(order.status).toBe(200)
    expect(order.body.items[0]).toMatchObject({ sku: 'D-1', quantity: 2 })
    expect((await h.request('GET', `/orders/${orderId}`, { token: c.token })).status).toBe(200)
    expect((await h.buy(c.token, [{ product_id: product.id, quantity: 1 }])).status).toBe(422)
  })
})
