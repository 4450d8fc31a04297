import { expect, test } from 'bun:test'
import { webhookHeaders } from '@logistics/shared'
import { type AuthzCase, authorizationMatrix, statuses } from '@logistics/testkit/authz-matrix'
import { openApiRoutes } from '@logistics/testkit/openapi-routes'
import { harnessOnStub } from './helpers'

/**
 * The authorization matrix of the ecommerce service, derived from its OpenAPI document: every
 * documented route must have a row in POLICY (and every row a route). Each row gives the status
 * of a valid request for every actor, against fixtures owned by `customer` and seller 1 (whose
 * Seller Administrator User is `sellerAdmin`, and plain seller user `seller`): 401 without
 * credentials, 403 for the wrong role, 404 for what is not theirs to see — the contract's "who".
 */

const ROLES = ['none', 'customer', 'otherCustomer', 'seller', 'sellerAdmin', 'otherSeller', 'admin'] as const
type Role = (typeof ROLES)[number]

const { h } = await harnessOnStub()
const { routes } = await openApiRoutes(h.app)

const admin = await h.adminToken()
const one = await h.seller('Authz Owner Seller', admin, { warehouse: 'Owner warehouse, 7 Secret Dock' })
const two = await h.seller('Authz Other Seller', admin)
const customer = await h.customer('Owner')
const otherCustomer = await h.customer('Stranger')
const plainEmail = `plain-${crypto.randomUUID().slice(0, 8)}@sellers.test`
const addPlain = await h.request('POST', `/sellers/${one.id}/users`, {
  token: one.token,
  body: { email: plainEmail, password: 'seller-password', name: 'Plain seller user', is_seller_admin: false },
})
if (addPlain.status !== 201) throw new Error(addPlain.text)
const plainSeller = await h.login(plainEmail, 'seller-password')

const TOKENS: Record<Role, string | null> = {
  none: null,
  customer: customer.token,
  otherCustomer: otherCustomer.token,
  seller: plainSeller,
  sellerAdmin: one.token,
  otherSeller: two.token,
  admin,
}

const product = await h.product(one.token, 'AUTHZ-1', 1_000_000)

/** A fresh order of `customer` from seller 1, moved on to `status`. */
async function newOrder(status: 'created' | 'confirmed' | 'dispatched' = 'created') {
  const r = await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }])
  if (r.status !== 201) throw new Error(`fixture purchase: ${r.status} ${r.text}`)
  const id = r.body.orders[0].id as string
  for (const step of status === 'created' ? [] : status === 'confirmed' ? ['confirm'] : ['confirm', 'dispatch']) {
    const s = await h.request('POST', `/orders/${id}/${step}`, { token: one.token })
    if (s.status !== 200) throw new Error(`fixture ${step}: ${s.status} ${s.text}`)
  }
  return { id, purchaseId: r.body.id as string }
}

const order = await newOrder()
const dispatched = await newOrder('dispatched')
let skus = 0
const newProduct = async () => (await h.product(one.token, `AUTHZ-P-${++skus}`, 10)).id
const freshEmail = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}@authz.test`

// Who may do what (see the contract table). Shorthands over ROLES:
/** Everyone signed in. */
const anyUser = (ok: number) => statuses(ROLES, ok, { none: 401 })
/** Viewers of seller 1's order of `customer`: the customer, seller 1's users, admins; others 404. */
const orderViewers = (ok: number) => statuses(ROLES, ok, { none: 401, otherCustomer: 404, otherSeller: 404 })
/** Seller 1's users on seller 1 (customers 403, the other seller 404). */
const ownSeller = (ok: number, extra: Partial<Record<Role, number>> = {}) =>
  statuses(ROLES, ok, { none: 401, customer: 403, otherCustomer: 403, otherSeller: 404, ...extra })

const event = (status: string) => {
  const body = JSON.stringify({
    type: 'delivery.status_changed',
    timestamp: new Date().toISOString(),
    data: {
      tracking_number: 'TRK-AUTHZ',
      foreign_order_id: order.id,
      status,
      previous_status: 'READY_FOR_PICK_UP',
      date: new Date().toISOString(),
    },
  })
  return { body, headers: { 'content-type': 'application/json' } }
}

const POLICY: Record<string, AuthzCase<Role>[]> = {
  'GET /health': [{ expect: statuses(ROLES, 200), request: () => ({ path: '/health' }) }],
  'GET /health/live': [{ expect: statuses(ROLES, 200), request: () => ({ path: '/health/live' }) }],
  // Open in development (no METRICS_TOKEN); the token cases are in metrics.test.ts.
  'GET /metrics': [{ expect: statuses(ROLES, 200), request: () => ({ path: '/metrics' }) }],
  'POST /auth/login': [
    {
      expect: statuses(ROLES, 200),
      request: () => ({ path: '/auth/login', body: { email: customer.email, password: customer.password } }),
    },
  ],
  'POST /users': [
    {
      expect: statuses(ROLES, 201),
      request: () => ({
        path: '/users',
        body: { email: freshEmail('new'), password: 'customer-password', name: 'New', shipping_address: '1 New St' },
      }),
    },
  ],
  'GET /me': [{ expect: anyUser(200), request: () => ({ path: '/me' }) }],
  'POST /sellers': [
    {
      expect: statuses(ROLES, 403, { none: 401, admin: 201 }),
      request: () => ({
        path: '/sellers',
        body: { name: 'New seller', description: 'Sells', admins: [{ email: freshEmail('sa'), password: 'seller-password', name: 'SA' }] },
      }),
    },
  ],
  'GET /sellers': [
    {
      expect: statuses(ROLES, 200, { none: 401, customer: 403, otherCustomer: 403 }),
      request: () => ({ path: '/sellers?limit=100' }),
      hidden: { from: ['otherSeller'], values: [one.id] },
    },
  ],
  'GET /sellers/{id}': [{ expect: ownSeller(200), request: () => ({ path: `/sellers/${one.id}` }) }],
  'PATCH /sellers/{id}': [
    { expect: ownSeller(200), request: (role) => ({ path: `/sellers/${one.id}`, body: { description: `Edited by ${role}` } }) },
  ],
  'DELETE /sellers/{id}': [
    {
      expect: statuses(ROLES, 403, { none: 401, admin: 204 }),
      // admins delete a throwaway seller; everyone else tries seller 1 (their own, for its users)
      request: async (role) => ({ path: `/sellers/${role === 'admin' ? (await h.seller('Doomed', admin)).id : one.id}` }),
    },
  ],
  'POST /sellers/{id}/users': [
    {
      expect: ownSeller(201, { seller: 403 }),
      request: () => ({ path: `/sellers/${one.id}/users`, body: { email: freshEmail('su'), password: 'seller-password', name: 'SU' } }),
    },
  ],
  'GET /sellers/{id}/users': [{ expect: ownSeller(200, { seller: 403 }), request: () => ({ path: `/sellers/${one.id}/users` }) }],
  'GET /sellers/{id}/users/{user_id}': [
    { expect: ownSeller(200, { seller: 403 }), request: () => ({ path: `/sellers/${one.id}/users/${addPlain.body.id}` }) },
  ],
  'GET /products': [{ expect: statuses(ROLES, 200), request: () => ({ path: `/products?seller_id=${one.id}` }) }],
  'GET /products/{id}': [{ expect: statuses(ROLES, 200), request: () => ({ path: `/products/${product.id}` }) }],
  'POST /products': [
    {
      expect: statuses(ROLES, 403, { none: 401, seller: 201, sellerAdmin: 201, otherSeller: 201 }),
      request: (role) => ({ path: '/products', body: { sku: `NEW-${role}-${++skus}`, name: 'New', description: 'New', quantity: 1 } }),
    },
  ],
  'PATCH /products/{id}': [
    {
      expect: ownSeller(200, { admin: 403 }),
      request: (role) => ({ path: `/products/${product.id}`, body: { description: `Edited by ${role}` } }),
    },
  ],
  'DELETE /products/{id}': [{ expect: ownSeller(204, { admin: 403 }), request: async () => ({ path: `/products/${await newProduct()}` }) }],
  'POST /purchases': [
    {
      expect: statuses(ROLES, 403, { none: 401, customer: 201, otherCustomer: 201 }),
      request: () => ({ path: '/purchases', body: { items: [{ product_id: product.id, quantity: 1 }] } }),
    },
  ],
  'GET /purchases/{id}': [
    {
      expect: statuses(ROLES, 404, { none: 401, customer: 200, admin: 200 }),
      request: () => ({ path: `/purchases/${order.purchaseId}` }),
    },
  ],
  'GET /orders': [
    {
      expect: anyUser(200),
      request: () => ({ path: '/orders?limit=100' }),
      hidden: { from: ['otherCustomer', 'otherSeller'], values: [order.id, dispatched.id] },
    },
  ],
  'GET /orders/{id}': [{ expect: orderViewers(200), request: () => ({ path: `/orders/${order.id}` }) }],
  'GET /orders/{id}/history': [{ expect: orderViewers(200), request: () => ({ path: `/orders/${order.id}/history` }) }],
  'POST /orders/{id}/confirm': [
    {
      expect: ownSeller(200, { admin: 403 }),
      request: async () => ({ path: `/orders/${(await newOrder()).id}/confirm` }),
    },
  ],
  'POST /orders/{id}/dispatch': [
    {
      expect: ownSeller(200, { admin: 403 }),
      request: async () => ({ path: `/orders/${(await newOrder('confirmed')).id}/dispatch` }),
    },
  ],
  'POST /orders/{id}/cancel': [
    {
      expect: statuses(ROLES, 403, { none: 401, customer: 200, otherCustomer: 404, admin: 200 }),
      request: async () => ({ path: `/orders/${(await newOrder()).id}/cancel` }),
    },
  ],
  'GET /orders/{id}/tracking': [{ expect: orderViewers(200), request: () => ({ path: `/orders/${dispatched.id}/tracking` }) }],
  // Signature-authenticated: a bearer token of any role means nothing here.
  'POST /webhooks/delivery': [
    {
      label: 'unsigned',
      expect: statuses(ROLES, 401),
      request: () => {
        const e = event('IN_ORIGIN')
        return { path: '/webhooks/delivery', rawBody: e.body, headers: e.headers }
      },
    },
    {
      label: 'signed with another secret',
      expect: statuses(ROLES, 401),
      request: () => {
        const e = event('IN_ORIGIN')
        const forged = webhookHeaders(
          `whsec_${Buffer.from('a different secret of 32 bytes!!').toString('base64')}`,
          `msg_${crypto.randomUUID()}`,
          e.body,
        )
        return { path: '/webhooks/delivery', rawBody: e.body, headers: { ...e.headers, ...forged } }
      },
    },
    {
      label: 'signed',
      expect: statuses(ROLES, 204),
      request: () => {
        const e = event('IN_ORIGIN')
        const signed = webhookHeaders(h.config.WEBHOOK_SECRET, `msg_${crypto.randomUUID()}`, e.body)
        return { path: '/webhooks/delivery', rawBody: e.body, headers: { ...e.headers, ...signed } }
      },
    },
  ],
}

authorizationMatrix({
  routes,
  policy: POLICY,
  context: () => ({
    app: h.app,
    db: h.db,
    roles: ROLES,
    headersFor: (role): Record<string, string> => (TOKENS[role] === null ? {} : { authorization: `Bearer ${TOKENS[role]}` }),
    secrets: [customer.email, "Owner's home", 'Owner warehouse, 7 Secret Dock', one.email],
  }),
})

test('after the matrix, the fixtures are where the allowed calls left them', async () => {
  // seller 1 was never deleted by a refused DELETE; its order is still created
  expect((await h.request('GET', `/sellers/${one.id}`, { token: admin })).status).toBe(200)
  expect((await h.request('GET', `/orders/${order.id}`, { token: admin })).body.status).toBe('created')
})
