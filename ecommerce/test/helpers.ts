import { afterAll } from 'bun:test'
import { join } from 'node:path'
import { silentLogger } from '@logistics/shared'
import { createTestDatabase, type TestDatabase } from '@logistics/testkit/databases'
import { callApp } from '@logistics/testkit/http'
import { createApp } from '../src/app'
import { type Config, loadConfig } from '../src/config'
import * as schema from '../src/db/schema'
import { ensureAdmin } from '../src/modules/auth/service'
import { createDeliveryClient, type DeliveryClient } from '../src/modules/delivery-client/service'

export { testOnPostgres } from '@logistics/testkit/databases'

export const migrationsFolder = join(import.meta.dir, '../drizzle')
/** Cheap argon2id parameters: tests hash many passwords. */
export const cheapHashing = { memoryCost: 1024, timeCost: 1 }

export const ADMIN = { email: 'admin@example.com', password: 'admin-password-change-me' }

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: 'memory://',
    DELIVERY_API_URL: 'http://127.0.0.1:1',
    DELIVERY_TIMEOUT_MS: '300',
    LOG_LEVEL: 'silent',
    // Tests race one customer's purchases against each other (oversell, idempotency): what they
    // check is the database. The per-customer bound has tests of its own, which set it.
    PURCHASES_PER_CUSTOMER: '1000',
    ...overrides,
  })
}

export type Harness = Awaited<ReturnType<typeof createHarness>>

/** One database (with the admin bootstrapped) and an app on it; `close()` in afterAll. */
export async function createHarness(options: { deliveryClient?: DeliveryClient; config?: Record<string, string> } = {}) {
  const database: TestDatabase<typeof schema> = await createTestDatabase({ service: 'ecommerce', schema, migrationsFolder })
  const config = testConfig(options.config)
  await ensureAdmin(database.db, ADMIN.email, ADMIN.password, cheapHashing)
  const makeApp = (deliveryClient?: DeliveryClient) =>
    createApp({ db: database.db, config, logger: silentLogger, deliveryClient, passwordHashing: cheapHashing })
  let app = makeApp(options.deliveryClient)
  const h = {
    db: database.db,
    database,
    config,
    get app() {
      return app
    },
    /** Rebuilds the app with another delivery client (same database). */
    useDeliveryClient(client: DeliveryClient) {
      app = makeApp(client)
    },
    close: () => database.close(),
    async request(
      method: string,
      path: string,
      init: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
    ) {
      const headers: Record<string, string> = { ...init.headers }
      if (init.token) headers.authorization = `Bearer ${init.token}`
      const r = await callApp(app, method, path, { headers, body: init.body, rawBody: init.rawBody })
      return { status: r.status, body: r.json, text: r.text, headers: r.headers }
    },
    async login(email: string, password: string): Promise<string> {
      const r = await h.request('POST', '/auth/login', { body: { email, password } })
      if (r.status !== 200) throw new Error(`login ${email} failed: ${r.status} ${r.text}`)
      return r.body.access_token
    },
    adminToken: () => h.login(ADMIN.email, ADMIN.password),
    /** A seller with one Seller Administrator User (and a warehouse address unless `warehouse: null`). */
    async seller(name: string, adminToken: string, options: { warehouse?: string | null } = {}) {
      const email = `${name.toLowerCase().replace(/\W+/g, '-')}-${crypto.randomUUID().slice(0, 8)}@sellers.test`
      const password = 'seller-password'
      const r = await h.request('POST', '/sellers', {
        token: adminToken,
        body: { name, description: `${name} sells things`, admins: [{ email, password, name: `${name} admin` }] },
      })
      if (r.status !== 201) throw new Error(`create seller failed: ${r.status} ${r.text}`)
      const token = await h.login(email, password)
      const warehouse = options.warehouse === undefined ? `${name} warehouse, 1 Dock St` : options.warehouse
      if (warehouse !== null) {
        const p = await h.request('PATCH', `/sellers/${r.body.id}`, { token, body: { warehouse_address: warehouse } })
        if (p.status !== 200) throw new Error(`set warehouse failed: ${p.status} ${p.text}`)
      }
      return { id: r.body.id as string, token, email, password, userId: r.body.users[0].id as string }
    },
    async customer(name = 'Carla') {
      const email = `${name.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}@customers.test`
      const password = 'customer-password'
      const r = await h.request('POST', '/users', {
        body: { email, password, name, shipping_address: `${name}'s home, 9 Main St` },
      })
      if (r.status !== 201) throw new Error(`register failed: ${r.status} ${r.text}`)
      return { id: r.body.id as string, token: await h.login(email, password), email, password }
    },
    async product(sellerToken: string, sku: string, quantity: number) {
      const r = await h.request('POST', '/products', {
        token: sellerToken,
        body: { sku, name: `Product ${sku}`, description: `About ${sku}`, quantity },
      })
      if (r.status !== 201) throw new Error(`create product failed: ${r.status} ${r.text}`)
      return r.body as { id: string; quantity: number; seller_id: string; sku: string }
    },
    async buy(customerToken: string, items: { product_id: string; quantity: number }[], headers?: Record<string, string>) {
      return h.request('POST', '/purchases', { token: customerToken, body: { items }, headers })
    },
    async stock(productId: string) {
      const r = await h.request('GET', `/products/${productId}`)
      return r.body.quantity as number
    },
  }
  return h
}

/**
 * A harness on a stub delivery service for the whole test file, closed after its last test
 * (`const { h, stub } = await harnessOnStub()` at the top of the file).
 */
export async function harnessOnStub() {
  const stub = createStubDelivery()
  const h = await createHarness({ deliveryClient: stub.client() })
  afterAll(async () => {
    stub.stop()
    await h.close()
  })
  return { h, stub }
}

/** A stand-in delivery service on a random port whose behaviour a test switches. */
export function createStubDelivery() {
  type Mode = 'up' | 'error' | 'slow' | 'conflict'
  const calls: { method: string; path: string; headers: Headers; body: any }[] = []
  const deliveries = new Map<string, { tracking_number: string; foreign_order_id: string }>()
  const webhooks: { id: string; url: string; secret: string }[] = []
  const state = {
    mode: 'up' as Mode,
    slowMs: 1500,
    beforeCreateAnswer: undefined as undefined | (() => Promise<void>),
    /** When set, POST /webhooks answers 422 with this detail. */
    refuseWebhooks: undefined as undefined | string,
    /** Every delivery counts as picked up: DELETE answers 409. */
    pickedUp: false,
    /** The `tracking_url` the create answer gives (none when unset, like a delivery service before the tracking page). */
    trackingUrl: ((tn: string) => `http://delivery.example.test/track/${tn}`) as undefined | ((tn: string) => unknown),
  }
  const server = Bun.serve({
    port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      const text = await request.text()
      const body = text ? JSON.parse(text) : undefined
      calls.push({ method: request.method, path: url.pathname, headers: new Headers(request.headers), body })
      if (state.mode === 'slow') await Bun.sleep(state.slowMs)
      if (state.mode === 'error')
        return Response.json({ type: '/problems/internal-error', title: 'boom', status: 500, detail: 'database on fire' }, { status: 500 })
      if (state.mode === 'conflict' && url.pathname === '/deliveries')
        return Response.json({ title: 'Conflict', status: 409, detail: 'a different delivery exists for this order' }, { status: 409 })
      if (request.method === 'POST' && url.pathname === '/deliveries') {
        const id = body.order.foreign_order_id
        const existing = deliveries.get(id)
        const delivery = existing ?? {
          tracking_number: `TRK-TEST-0000-${String(deliveries.size + 1).padStart(4, '0')}`,
          foreign_order_id: id,
        }
        deliveries.set(id, delivery)
        await state.beforeCreateAnswer?.()
        return Response.json(
          {
            ...body,
            tracking_number: delivery.tracking_number,
            status: 'READY_FOR_PICK_UP',
            ...(state.trackingUrl ? { tracking_url: state.trackingUrl(delivery.tracking_number) } : {}),
          },
          { status: existing ? 200 : 201 },
        )
      }
      const one = url.pathname.match(/^\/deliveries\/([^/]+)$/)
      if (request.method === 'DELETE' && one) {
        const d = [...deliveries.entries()].find(([, x]) => x.tracking_number === one[1])
        if (!d) return new Response(null, { status: 404 })
        if (state.pickedUp)
          return Response.json(
            { status: 409, code: 'already-picked-up', current_status: 'IN_ORIGIN', detail: 'picked up' },
            { status: 409 },
          )
        deliveries.delete(d[0])
        return new Response(null, { status: 204 })
      }
      const tracking = url.pathname.match(/^\/deliveries\/([^/]+)\/tracking$/)
      if (request.method === 'GET' && tracking) {
        const d = [...deliveries.values()].find((x) => x.tracking_number === tracking[1])
        if (!d) return Response.json({ status: 404 }, { status: 404 })
        return Response.json({
          tracking_number: d.tracking_number,
          foreign_order_id: d.foreign_order_id,
          status: 'IN_ORIGIN',
          tracking_url: `http://delivery.test/track/${d.tracking_number}`,
          tracking: [
            { status: 'READY_FOR_PICK_UP', date: '2025-01-01T10:00:00.000Z' },
            { status: 'IN_ORIGIN', date: '2025-01-01T10:00:30.000Z' },
          ],
        })
      }
      if (request.method === 'POST' && url.pathname === '/webhooks') {
        if (state.refuseWebhooks)
          return Response.json(
            { status: 422, detail: state.refuseWebhooks },
            { status: 422, headers: { 'content-type': 'application/problem+json' } },
          )
        const same = webhooks.find((w) => w.url === body.url)
        // Another secret for a registered url rotates it in place (the contract).
        if (same) same.secret = body.secret ?? same.secret
        if (same) return Response.json({ id: same.id, url: same.url, secret: same.secret }, { status: 200 })
        const created = { id: crypto.randomUUID(), url: body.url, secret: body.secret }
        webhooks.push(created)
        return Response.json(created, { status: 201 })
      }
      if (request.method === 'GET' && url.pathname === '/webhooks')
        return Response.json({ data: webhooks.map(({ id, url }) => ({ id, url })), total: webhooks.length, limit: 100, offset: 0 })
      const del = url.pathname.match(/^\/webhooks\/([^/]+)$/)
      if (request.method === 'DELETE' && del) {
        const i = webhooks.findIndex((w) => w.id === del[1])
        if (i < 0) return new Response(null, { status: 404 })
        webhooks.splice(i, 1)
        return new Response(null, { status: 204 })
      }
      return new Response('not found', { status: 404 })
    },
  })
  const url = `http://127.0.0.1:${server.port}`
  return {
    url,
    state,
    calls,
    deliveries,
    webhooks,
    client: (timeoutMs = 300) =>
      createDeliveryClient({ baseUrl: url, apiKey: 'dev-delivery-key-change-me', timeoutMs, retries: 2, retryDelayMs: 10 }),
    stop: () => server.stop(true),
  }
}

/** A base URL where nothing listens (a port that was just freed). */
export function deadDeliveryUrl() {
  const s = Bun.serve({ port: 0, fetch: () => new Response('') })
  const url = `http://127.0.0.1:${s.port}`
  s.stop(true)
  return url
}
