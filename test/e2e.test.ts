/**
 * End to end: both services as real processes on free ports, talking over real HTTP, with a
 * 1-second tick. On-disk PGlite in a temporary folder by default (so a service can be stopped and
 * started again on its data); real PostgreSQL databases when TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testDatabaseUrl } from '@logistics/testkit/databases'
import postgres from 'postgres'
import { api, login, statusOf } from '../scripts/api'
import { DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_SELLERS, seed } from '../scripts/seed'
import { freePort, type ServiceProcess, startService } from '../scripts/services'

type Order = {
  id: string
  seller_id: string
  status: string
  delivery: { name: string; address: string; tracking_number: string | null; tracking_url: string | null; status: string | null }
}

const API_KEY = 'e2e-delivery-key-0123456789'
const dataDir = mkdtempSync(join(tmpdir(), 'logistics-e2e-'))
const dropDatabases: (() => Promise<void>)[] = []

/** DATABASE_URL for a service: a fresh server database, or unset (PGlite under dataDir/.data). */
async function databaseFor(service: string): Promise<Record<string, string>> {
  if (!testDatabaseUrl) return {}
  const name = `e2e_${service}_${randomBytes(4).toString('hex')}`
  const admin = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  await admin.end()
  dropDatabases.push(async () => {
    const a = postgres(testDatabaseUrl!, { max: 1, onnotice: () => {} })
    await a.unsafe(`drop database if exists "${name}" with (force)`)
    await a.end()
  })
  const url = new URL(testDatabaseUrl)
  url.pathname = `/${name}`
  return { DATABASE_URL: url.toString() }
}

const logs: { delivery: string[]; ecommerce: string[] } = { delivery: [], ecommerce: [] }
let deliveryEnv: Record<string, string>
let ecommerceEnv: Record<string, string>
let delivery: ServiceProcess
let ecommerce: ServiceProcess
let deliveryPort: number
let ecommercePort: number

const startDelivery = () =>
  startService('delivery', { port: deliveryPort, cwd: dataDir, env: deliveryEnv, onLine: (l) => logs.delivery.push(l) })
const startEcommerce = () =>
  startService('ecommerce', { port: ecommercePort, cwd: dataDir, env: ecommerceEnv, onLine: (l) => logs.ecommerce.push(l) })

beforeAll(async () => {
  deliveryPort = await freePort()
  ecommercePort = await freePort()
  deliveryEnv = {
    ...(await databaseFor('delivery')),
    STATUS_TICK_SECONDS: '1',
    DELIVERY_API_KEYS: `ecommerce:${API_KEY}`,
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
  }
  ecommerceEnv = {
    ...(await databaseFor('ecommerce')),
    DELIVERY_API_URL: `http://127.0.0.1:${deliveryPort}`,
    DELIVERY_API_KEY: API_KEY,
    PUBLIC_URL: `http://127.0.0.1:${ecommercePort}`,
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
  }
  delivery = await startDelivery()
  ecommerce = await startEcommerce()
  await seed({ ecommerceUrl: ecommerce.url, log: () => {} })
}, 120_000)

afterAll(async () => {
  await Promise.all([delivery?.stop(), ecommerce?.stop()])
  for (const drop of dropDatabases) await drop()
  rmSync(dataDir, { recursive: true, force: true })
}, 60_000)

const deliveryApi = () => api(delivery.url, API_KEY)

async function buyFromBothSellers() {
  const shopper = await login(ecommerce.url, DEMO_CUSTOMERS[1].email, DEMO_PASSWORD)
  const catalogue = await api(ecommerce.url)
    .get('products', { searchParams: { limit: 100 } })
    .json<{ data: { id: string; seller_id: string; quantity: number }[] }>()
  const picks = [...new Map(catalogue.data.filter((p) => p.quantity > 0).map((p) => [p.seller_id, p])).values()]
  expect(picks.length).toBe(2)
  const purchase = await shopper.client
    .post('purchases', { json: { items: picks.map((p) => ({ product_id: p.id, quantity: 1 })) } })
    .json<{ orders: Order[] }>()
  return { shopper, orders: purchase.orders }
}

async function sellerOf(order: Order) {
  for (const s of DEMO_SELLERS) {
    const session = await login(ecommerce.url, s.admin.email, DEMO_PASSWORD)
    if (session.user.seller_id === order.seller_id) return session
  }
  throw new Error('no demo seller for the order')
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(200)
  }
}

describe('the whole story over real HTTP', () => {
  test('the demo data loads through the public API once, with no failed request; a second seed creates nothing and logs nobody in', async () => {
    type Logged = { msg?: string; path?: string; status?: number; request_id?: string }
    const requests = () =>
      logs.ecommerce.flatMap((l) => {
        const line = (l.startsWith('{') ? JSON.parse(l) : {}) as Logged
        return line.msg === 'request' ? [line] : []
      })
    /** The complete catalogue, once its request's log line has been read from the process (it comes a little later). */
    const catalogue = async () => {
      const response = await api(ecommerce.url).get('products', { searchParams: { limit: 100 } })
      const id = response.headers.get('x-request-id')
      const at = await waitFor(
        `the log line of request ${id}`,
        async () => {
          const i = requests().findIndex((r) => r.request_id === id)
          return i >= 0 ? i : undefined
        },
        10_000,
      )
      return { total: (await response.json<{ total: number }>()).total, at }
    }
    const first = await catalogue()
    expect(first.total).toBe(12)
    // The seed asks nothing whose expected answer is an error (a 401 or 409 reads as a failure in the log).
    expect(requests().filter((r) => r.status! >= 400)).toEqual([])
    const again = await seed({ ecommerceUrl: ecommerce.url, log: () => {} })
    expect(again.created).toEqual([])
    // One process logs its requests in the order it answered them: what the seed asked lies between the two reads.
    const last = await catalogue()
    expect(last.total).toBe(12)
    expect(
      requests()
        .slice(first.at + 1, last.at)
        .map((r) => r.path),
    ).toEqual(['/products']) // the complete catalogue says it all
  })

  test('purchase → confirm → dispatch → tracking → delivered through the real webhook', async () => {
    const { shopper, orders } = await buyFromBothSellers()
    for (const order of orders) {
      const seller = await sellerOf(order)
      expect((await seller.client.post(`orders/${order.id}/confirm`).json<Order>()).status).toBe('confirmed')
      const requestId = `e2e-${randomBytes(6).toString('hex')}`
      const dispatched = await seller.client.post(`orders/${order.id}/dispatch`, { headers: { 'x-request-id': requestId } }).json<Order>()
      expect(dispatched.status).toBe('dispatched')
      expect(dispatched.delivery.tracking_number).toMatch(/^TRK-/)
      // The parcel's public page, as the delivery service built it from its PUBLIC_URL (default http://localhost:<PORT>)
      expect(dispatched.delivery.tracking_url).toBe(`http://localhost:${deliveryPort}/track/${dispatched.delivery.tracking_number}`)
      // One request id follows the dispatch across both services' logs.
      await waitFor(
        'the request id in the delivery log',
        async () => (logs.delivery.some((l) => l.includes(requestId) && l.includes('/deliveries')) ? true : undefined),
        5_000,
      )
      await waitFor(
        'the request id in the ecommerce log',
        async () => (logs.ecommerce.some((l) => l.includes(requestId)) ? true : undefined),
        5_000,
      )
    }
    const delivered = await waitFor('both orders delivered', async () => {
      const now = await Promise.all(orders.map((o) => shopper.client.get(`orders/${o.id}`).json<Order>()))
      return now.every((o) => o.status === 'delivered') ? now : undefined
    })
    for (const order of delivered) {
      expect(order.delivery.status).toBe('DELIVERED')
      const history = await shopper.client.get(`orders/${order.id}/tracking`).json<{ status: string; tracking: { status: string }[] }>()
      const statuses = history.tracking.map((e) => e.status)
      expect(statuses.slice(0, 3)).toEqual(['READY_FOR_PICK_UP', 'IN_ORIGIN', 'IN_ROUTE_OF_DELIVERY'])
      expect(statuses.at(-1)).toBe('DELIVERED')
      // The delivery service holds the same history.
      const direct = await deliveryApi().get(`deliveries/${order.delivery.tracking_number}/tracking`).json<{ tracking: unknown[] }>()
      expect(direct.tracking).toEqual(history.tracking)
      // Anyone with the link sees the parcel delivered, and nothing of the shopper
      const page = await fetch(order.delivery.tracking_url!)
      const html = await page.text()
      expect(page.status).toBe(200)
      expect(html).toContain('<span>Delivered</span>')
      expect([order.delivery.name, order.delivery.address, order.id].filter((s) => html.includes(s))).toEqual([])
    }
  }, 90_000)

  test('the delivery service down at dispatch: 503, order stays confirmed; back up: dispatch succeeds, one delivery exists', async () => {
    const { orders } = await buyFromBothSellers()
    const order = orders[0]!
    const seller = await sellerOf(order)
    await seller.client.post(`orders/${order.id}/confirm`)
    await delivery.stop()
    expect(await statusOf(seller.client.post(`orders/${order.id}/dispatch`))).toBe(503)
    expect((await seller.client.get(`orders/${order.id}`).json<Order>()).status).toBe('confirmed')
    delivery = await startDelivery()
    const dispatched = await seller.client.post(`orders/${order.id}/dispatch`).json<Order>()
    expect(dispatched.status).toBe('dispatched')
    const lookup = await deliveryApi()
      .post('tracking', { json: { foreign_order_id: order.id } })
      .json<{ tracking_number: string }>()
    expect(lookup.tracking_number).toBe(dispatched.delivery.tracking_number!)
    const all = await deliveryApi()
      .get('deliveries', { searchParams: { limit: 100 } })
      .json<{ data: { order: { foreign_order_id: string } }[] }>()
    expect(all.data.filter((d) => d.order.foreign_order_id === order.id)).toHaveLength(1)
  }, 90_000)

  test('ecommerce down while deliveries advance: once back, every event is applied and the orders end delivered', async () => {
    const { shopper, orders } = await buyFromBothSellers()
    for (const order of orders) {
      const seller = await sellerOf(order)
      await seller.client.post(`orders/${order.id}/confirm`)
      await seller.client.post(`orders/${order.id}/dispatch`)
    }
    await ecommerce.stop()
    // Several ticks go by while nobody receives the webhooks: they wait in the outbox.
    const tn = (
      await deliveryApi()
        .post('tracking', { json: { foreign_order_id: orders[0]!.id } })
        .json<{ tracking_number: string }>()
    ).tracking_number
    await waitFor('the delivery to move on without ecommerce', async () => {
      const h = await deliveryApi().get(`deliveries/${tn}/tracking`).json<{ tracking: unknown[] }>()
      return h.tracking.length >= 3 ? true : undefined
    })
    ecommerce = await startEcommerce()
    const fresh = await login(ecommerce.url, DEMO_CUSTOMERS[1].email, DEMO_PASSWORD)
    const final = await waitFor(
      'both orders delivered after the restart',
      async () => {
        const now = await Promise.all(orders.map((o) => fresh.client.get(`orders/${o.id}`).json<Order>()))
        return now.every((o) => o.status === 'delivered') ? now : undefined
      },
      120_000,
    )
    expect(final.every((o) => o.delivery.status === 'DELIVERED')).toBe(true)
    void shopper
  }, 150_000)
})
