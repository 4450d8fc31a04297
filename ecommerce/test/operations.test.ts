/**
 * Operations: database outages answer 503 `database-unavailable`, error logs carry no SQL or
 * parameters, liveness/readiness, and the Prometheus metrics of the marketplace.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { webhookHeaders } from '@logistics/shared'
import { createTestDatabase } from '@logistics/testkit/databases'
import { callApp } from '@logistics/testkit/http'
import { capturingLogger } from '@logistics/testkit/logging'
import { sql } from 'drizzle-orm'
import { createApp } from '../src/app'
import * as schema from '../src/db/schema'
import { createDeliveryClient } from '../src/modules/delivery-client/service'
import { cheapHashing, createHarness, createStubDelivery, deadDeliveryUrl, type Harness, migrationsFolder, testConfig } from './helpers'

describe('health', () => {
  test('liveness 200 without the database; readiness 200, then 503 problem+json database-unavailable once it is gone', async () => {
    const h = await createHarness()
    const customer = await h.customer()
    const ready = await h.request('GET', '/health')
    expect(ready.status).toBe(200)
    expect(ready.body).toMatchObject({ status: 'ok' })
    await h.close()
    const down = await h.request('GET', '/health')
    expect(down.status).toBe(503)
    expect(down.headers.get('content-type')).toContain('application/problem+json')
    expect(down.body).toMatchObject({ status: 503, code: 'database-unavailable' })
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0)
    const live = await h.request('GET', '/health/live')
    expect(live.status).toBe(200)
    expect(live.body).toEqual({ status: 'ok' })
    // Every route: 503 to retry, never a 500.
    for (const [method, path, body] of [
      ['GET', '/products'],
      ['POST', '/purchases', { items: [{ product_id: crypto.randomUUID(), quantity: 1 }] }],
      ['GET', '/orders'],
      ['POST', '/auth/login', { email: customer.email, password: customer.password }],
    ] as const) {
      const r = await h.request(method, path, { token: customer.token, body })
      expect({ path, status: r.status, code: r.body?.code }).toEqual({ path, status: 503, code: 'database-unavailable' })
      expect(r.headers.get('retry-after')).toBeTruthy()
    }
  })
})

describe('error logs', () => {
  test('a failed insert logs SQLSTATE, table, request id and route; not the email, the hash or the SQL', async () => {
    const database = await createTestDatabase({ service: 'ecommerce', schema, migrationsFolder })
    const { logger, lines } = capturingLogger()
    const app = createApp({ db: database.db, config: testConfig(), logger, passwordHashing: cheapHashing })
    await database.db.execute(sql`alter table users rename to users_gone`)
    const email = `leaky-${crypto.randomUUID().slice(0, 8)}@customers.test`
    const r = await callApp(app, 'POST', '/users', {
      headers: { 'x-request-id': 'req-users-1' },
      body: { email, password: 'customer-password', name: 'Leaky', shipping_address: '1 Secret Lane' },
    })
    expect(r.status).toBe(500)
    const errors = lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ request_id: 'req-users-1', route: '/users', error: { sqlstate: '42P01' } })
    const line = JSON.stringify(errors[0])
    for (const secret of [email, '1 Secret Lane', '$argon2', 'insert into', 'params:']) expect(line).not.toContain(secret)
    await database.close()
  })
})

describe('metrics', () => {
  let h: Harness
  let stub: ReturnType<typeof createStubDelivery>
  beforeAll(async () => {
    stub = createStubDelivery()
    h = await createHarness({ deliveryClient: stub.client() })
  })
  afterAll(async () => {
    stub.stop()
    await h.close()
  })
  /** The metrics once `ready` matches: request durations are recorded after each response is sent. */
  const scrape = async (ready: RegExp) => {
    for (let i = 0; ; i++) {
      const r = await h.request('GET', '/metrics')
      expect(r.status).toBe(200)
      if (ready.test(r.text) || i === 40) return r.text
      await Bun.sleep(25)
    }
  }

  test('purchases, stock conflicts, delivery events applied and ignored, delivery calls by outcome, requests by route template', async () => {
    const admin = await h.adminToken()
    const seller = await h.seller('Metrics', admin)
    const product = await h.product(seller.token, 'MET-1', 3)
    const customer = await h.customer()
    const bought = await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }], { 'idempotency-key': 'metrics-1' })
    expect(bought.status).toBe(201)
    expect((await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }], { 'idempotency-key': 'metrics-1' })).status).toBe(201) // a replay
    expect((await h.buy(customer.token, [{ product_id: product.id, quantity: 50 }])).status).toBe(409)
    const orderId = bought.body.orders[0].id as string
    await h.request('POST', `/orders/${orderId}/confirm`, { token: seller.token })
    const dispatched = await h.request('POST', `/orders/${orderId}/dispatch`, { token: seller.token })
    expect(dispatched.status).toBe(200)
    const trackingNumber = dispatched.body.delivery.tracking_number as string
    const send = (id: string, status: string, date: string) => {
      const body = JSON.stringify({
        type: 'delivery.status_changed',
        timestamp: new Date().toISOString(),
        data: { tracking_number: trackingNumber, foreign_order_id: orderId, status, previous_status: null, date },
      })
      return h.request('POST', '/webhooks/delivery', {
        rawBody: body,
        headers: { 'content-type': 'application/json', ...webhookHeaders(h.config.WEBHOOK_SECRET, id, body) },
      })
    }
    expect((await send('msg_m1', 'IN_ORIGIN', new Date().toISOString())).status).toBe(204)
    expect((await send('msg_m1', 'IN_ORIGIN', new Date().toISOString())).status).toBe(204) // duplicate
    expect((await send('msg_m2', 'READY_FOR_PICK_UP', '2000-01-01T00:00:00Z')).status).toBe(204) // stale

    const text = await scrape(/route="\/webhooks\/delivery",status="204"[^}]*\} 3\n/)
    expect(text).toMatch(/ecommerce_purchases_total\{[^}]*\} 1\n/)
    expect(text).toMatch(/ecommerce_stock_conflicts_total\{[^}]*\} 1\n/)
    expect(text).toMatch(/ecommerce_delivery_events_total\{[^}]*outcome="applied",result="applied"[^}]*\} 1\n/)
    expect(text).toMatch(/ecommerce_delivery_events_total\{[^}]*outcome="duplicate",result="ignored"[^}]*\} 1\n/)
    expect(text).toMatch(/ecommerce_delivery_events_total\{[^}]*outcome="stale",result="ignored"[^}]*\} 1\n/)
    expect(text).toMatch(/ecommerce_delivery_calls_duration_seconds_count\{[^}]*operation="create-delivery",outcome="ok"[^}]*\} 1\n/)
    expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*method="POST",route="\/orders\/:id\/dispatch",status="200"[^}]*\} 1\n/)
    expect(text).not.toContain(orderId)
  })

  test('every answer is counted once by its route template, wherever it was answered', async () => {
    const count = (text: string, method: string, route: string, status: number) =>
      Number(
        text
          .split('\n')
          .find(
            (l) =>
              l.startsWith('http_request_duration_seconds_count{') && l.includes(`method="${method}",route="${route}",status="${status}"`),
          )
          ?.split(' ')
          .at(-1) ?? 0,
      )
    const cases: [string, string, string, number][] = [
      ['GET', '/no-such-route', 'unmatched', 404], // no route
      ['PUT', '/products', 'unmatched', 405], // known path, other method
      ['GET', '/products/%00', '/products/:id', 404], // refused by the NUL check in the transform
      ['GET', '/me', '/me', 401], // credentials
      ['POST', '/users', '/users', 422], // validation
      ['GET', '/products', '/products', 200],
    ]
    const before = (await h.request('GET', '/metrics')).text
    for (const [method, path, , status] of cases)
      expect((await h.request(method, path, method === 'POST' ? { body: {} } : {})).status).toBe(status)
    const after = (await h.request('GET', '/metrics')).text
    for (const [method, path, route, status] of cases)
      expect([path, count(after, method, route, status) - count(before, method, route, status)]).toEqual([path, 1])
  })

  test('a delivery service that does not answer is counted by its problem code', async () => {
    h.useDeliveryClient(createDeliveryClient({ baseUrl: deadDeliveryUrl(), apiKey: 'k', timeoutMs: 300, retries: 0 }))
    const admin = await h.adminToken()
    const seller = await h.seller('Down', admin)
    const product = await h.product(seller.token, 'DOWN-1', 3)
    const customer = await h.customer()
    const orderId = (await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }])).body.orders[0].id
    await h.request('POST', `/orders/${orderId}/confirm`, { token: seller.token })
    expect((await h.request('POST', `/orders/${orderId}/dispatch`, { token: seller.token })).status).toBe(503)
    expect(await scrape(/outcome="delivery-unavailable"/)).toMatch(
      /ecommerce_delivery_calls_duration_seconds_count\{[^}]*operation="create-delivery",outcome="delivery-unavailable"[^}]*\} 1\n/,
    )
  })

  test('the delivery service answering 503 (its database restarting) is a 503 to retry here, not a 502', async () => {
    const down = Bun.serve({
      port: 0,
      fetch: () =>
        Response.json(
          { type: '/problems/database-unavailable', title: 'Service Unavailable', status: 503, code: 'database-unavailable' },
          { status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '7' } },
        ),
    })
    h.useDeliveryClient(createDeliveryClient({ baseUrl: `http://127.0.0.1:${down.port}`, apiKey: 'k', timeoutMs: 1000, retries: 0 }))
    const admin = await h.adminToken()
    const seller = await h.seller('Restarting', admin)
    const product = await h.product(seller.token, 'RST-1', 3)
    const customer = await h.customer()
    const orderId = (await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }])).body.orders[0].id
    await h.request('POST', `/orders/${orderId}/confirm`, { token: seller.token })
    const r = await h.request('POST', `/orders/${orderId}/dispatch`, { token: seller.token })
    down.stop(true)
    expect(r.status).toBe(503)
    expect(r.body).toMatchObject({ code: 'delivery-unavailable', upstream_status: 503 })
    expect(r.headers.get('retry-after')).toBe('7')
    expect((await h.request('GET', `/orders/${orderId}`, { token: seller.token })).body.status).toBe('confirmed')
  })

  test('METRICS_TOKEN: 401 without or with a wrong token, 200 with it; production without one: 404', async () => {
    const database = await createTestDatabase({ service: 'ecommerce', schema, migrationsFolder })
    const { logger } = capturingLogger()
    const guarded = createApp({ db: database.db, config: testConfig({ METRICS_TOKEN: 'metrics-token-0123456789' }), logger })
    for (const headers of [{}, { authorization: 'Bearer nope-nope-nope-nope' }] as Record<string, string>[]) {
      const r = await callApp(guarded, 'GET', '/metrics', { headers })
      expect(r.status).toBe(401)
      expect(r.headers.get('content-type')).toContain('application/problem+json')
    }
    expect((await callApp(guarded, 'GET', '/metrics', { headers: { authorization: 'Bearer metrics-token-0123456789' } })).status).toBe(200)
    const production = testConfig()
    const off = createApp({ db: database.db, config: { ...production, NODE_ENV: 'production' }, logger })
    expect((await callApp(off, 'GET', '/metrics')).status).toBe(404)
    await database.close()
  })
})
