import { describe, expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { webhookHeaders } from '@logistics/shared'
import { databaseFingerprint, fingerprintDiff } from '@logistics/testkit/fingerprint'
import { type BodyTemplate, junkAuthorization } from '@logistics/testkit/generators'
import { send } from '@logistics/testkit/http'
import { type FuzzRequest, invalidRequest, junkInputProperty } from '@logistics/testkit/junk-input'
import { openApiRoutes } from '@logistics/testkit/openapi-routes'
import { refusalViolation } from '@logistics/testkit/problem'
import fc from 'fast-check'
import { ADMIN, harnessOnStub } from './helpers'

/**
 * Junk input against every route the ecommerce service's own OpenAPI document lists, with each
 * kind of credential: every answer is a 4xx problem+json (never a 5xx, never a 2xx) and no row of
 * any table changes.
 */

const { h } = await harnessOnStub()

const admin = await h.adminToken()
const seller = await h.seller('Fuzz Seller', admin)
const customer = await h.customer('Fuzzy')
const product = await h.product(seller.token, 'FUZZ-1', 1_000)
const bought = await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }])
if (bought.status !== 201) throw new Error(bought.text)
const order = bought.body.orders[0]
// one dispatched order, so tracking and delivery columns are filled in too
await h.request('POST', `/orders/${order.id}/confirm`, { token: seller.token })
const dispatched = await h.request('POST', `/orders/${order.id}/dispatch`, { token: seller.token })
if (dispatched.status !== 200) throw new Error(dispatched.text)

const { routes } = await openApiRoutes(h.app)

/** HS256 JWT signed with `secret` (a well-formed token the service must still refuse). */
function jwt(payload: Record<string, unknown>, secret: string) {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`
}
const now = Math.floor(Date.now() / 1000)

const credentials = fc.oneof(
  fc.constantFrom<Record<string, string>>(
    {},
    { authorization: 'Bearer not-a-token' },
    { authorization: `Bearer ${customer.token}` },
    { authorization: `Bearer ${seller.token}` },
    { authorization: `Bearer ${admin}` },
    // signed with another secret, expired, or for a user who does not exist
    { authorization: `Bearer ${jwt({ sub: customer.id, role: 'admin', exp: now + 600 }, 'another-secret-entirely')}` },
    { authorization: `Bearer ${jwt({ sub: customer.id, role: 'customer', exp: now - 600 }, h.config.JWT_SECRET)}` },
    { authorization: `Bearer ${jwt({ sub: crypto.randomUUID(), role: 'admin', exp: now + 600 }, h.config.JWT_SECRET)}` },
    { authorization: `Bearer ${jwt({ sub: 'not-a-uuid', role: 'admin', exp: now + 600 }, h.config.JWT_SECRET)}` },
  ),
  junkAuthorization.map((authorization) => ({ authorization })),
)

/** Existing resources for each route's `{id}`: requests fail for their broken part only. */
function pathValuesFor(path: string): Record<string, string> {
  if (path.startsWith('/sellers/')) return { id: seller.id, user_id: seller.userId }
  if (path.startsWith('/products/')) return { id: product.id }
  if (path.startsWith('/purchases/')) return { id: bought.body.id }
  if (path.startsWith('/orders/')) return { id: order.id }
  return {}
}

const event = {
  type: 'delivery.status_changed',
  timestamp: new Date().toISOString(),
  data: {
    tracking_number: 'TRK-1',
    foreign_order_id: order.id,
    status: 'IN_ORIGIN',
    previous_status: 'READY_FOR_PICK_UP',
    date: new Date().toISOString(),
  },
}

/** Minimal valid bodies (every key required), keyed like the document's routes. */
const templates: Record<string, BodyTemplate> = {
  'POST /auth/login': { body: { email: ADMIN.email, password: ADMIN.password } },
  'POST /users': { body: { email: 'fuzz-new@customers.test', password: 'fuzz-password', name: 'Fuzz', shipping_address: '1 Fuzz Lane' } },
  'POST /sellers': {
    body: { name: 'New', description: 'Sells', admins: [{ email: 'fuzz-admin@sellers.test', password: 'fuzz-password', name: 'A' }] },
  },
  'PATCH /sellers/{id}': { body: { name: 'Renamed' } },
  'POST /sellers/{id}/users': { body: { email: 'fuzz-user@sellers.test', password: 'fuzz-password', name: 'U' } },
  'POST /products': { body: { sku: 'FUZZ-NEW', name: 'New product', description: 'About it', quantity: 5 } },
  'PATCH /products/{id}': { body: { quantity: 3 } },
  'POST /purchases': { body: { items: [{ product_id: product.id, quantity: 1 }] } },
  'POST /webhooks/delivery': {
    body: event,
    // the event's ids are free-form strings (an unknown order is acknowledged)
    anyString: ['data.tracking_number', 'data.foreign_order_id'],
    nullable: ['data.previous_status'],
  },
}

/** The webhook route authenticates by signature: half the junk is signed with the real secret. */
function requestsFor(path: string, method: string) {
  const route = routes.find((r) => r.path === path && r.method === method)!
  const base = invalidRequest(route, { pathValues: pathValuesFor(route.path), template: templates[route.key], auth: credentials })
  if (route.key !== 'POST /webhooks/delivery') return base
  return fc.tuple(base, fc.boolean()).map(
    ([request, signed]): FuzzRequest =>
      signed
        ? {
            ...request,
            broken: [...request.broken, 'signed'],
            headers: { ...request.headers, ...webhookHeaders(h.config.WEBHOOK_SECRET, `msg_${crypto.randomUUID()}`, request.body ?? '') },
          }
        : request,
  )
}

test('every body route of the document has a template', () => {
  expect(routes.length).toBeGreaterThan(20)
  expect(
    routes
      .filter((r) => r.hasBody)
      .map((r) => r.key)
      .sort(),
  ).toEqual(Object.keys(templates).sort())
})

junkInputProperty({
  routes,
  requests: (route) => requestsFor(route.path, route.method),
  numRuns: 50,
  context: () => ({ app: h.app, db: h.db }),
  // A refused login attempt still counts against the account and the address (that is the throttle).
  bookkeepingTables: ['login_throttles'],
})

describe('targeted junk', () => {
  test('an authenticated customer POSTing junk to /purchases gets 4xx and no stock moves', async () => {
    const before = await databaseFingerprint(h.db)
    const bodies: unknown[] = [
      {},
      [],
      { items: [] },
      { items: {} },
      { items: [{ product_id: product.id, quantity: -1 }] },
      { items: [{ product_id: product.id, quantity: 1.5 }] },
      { items: [{ product_id: product.id, quantity: 1e12 }] },
      { items: [{ product_id: product.id, quantity: '1' }] },
      { items: [{ product_id: 'not-a-uuid', quantity: 1 }] },
      { items: [{ product_id: product.id }] },
      { items: Array.from({ length: 101 }, () => ({ product_id: product.id, quantity: 1 })) },
      { items: [{ product_id: product.id, quantity: 1 }], extra: '\u0000' },
    ]
    for (const body of bodies) {
      const answer = await send(h.app, 'POST', '/purchases', {
        headers: { authorization: `Bearer ${customer.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      expect({ body, violation: refusalViolation(answer) }).toEqual({ body, violation: null })
    }
    const junkKey = await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }], { 'idempotency-key': 'k'.repeat(256) })
    expect(junkKey.status).toBe(422)
    expect(fingerprintDiff(before, await databaseFingerprint(h.db))).toEqual([])
  })

  test('a NUL character anywhere answers 404/422, not a database error', async () => {
    const before = await databaseFingerprint(h.db)
    const cases = [
      await h.request('POST', '/users', { body: { email: 'nul@x.test', password: 'password-1', name: 'N\u0000', shipping_address: 'x' } }),
      await h.request('POST', '/auth/login', { body: { email: 'a\u0000@b.test', password: 'password-1' } }),
      await h.request('PATCH', `/sellers/${seller.id}`, { token: seller.token, body: { name: 'S\u0000' } }),
      await h.request('POST', '/products', { token: seller.token, body: { sku: 'N\u0000', name: 'n', description: 'd', quantity: 1 } }),
      await h.request('GET', '/products/%00'),
      await h.request('GET', '/orders?status=%00', { token: admin }),
    ]
    expect(cases.map((c) => c.status)).toEqual([422, 422, 422, 422, 404, 422])
    expect(fingerprintDiff(before, await databaseFingerprint(h.db))).toEqual([])
  })
})
