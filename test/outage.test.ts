/**
 * Database outages under load, both services as real processes on PostgreSQL: while customers buy
 * and sellers confirm and dispatch every ~50 ms, every backend of both databases is terminated
 * (`pg_terminate_backend`) twice. Every answer is a success or a 503 to retry (never a 500), the
 * stock adds up exactly, every dispatched order follows its delivery to the end, and no webhook
 * event is lost or applied twice; the logs name the outage once and hold no SQL. Needs a server:
 * skipped (with this reason) on PGlite only.
 */
import { afterAll, beforeAll, describe, expect } from 'bun:test'
import { queryRows } from '@logistics/shared/db'
import { createTestDatabase, onRealPostgres, type TestDatabase, testDatabaseUrl, testOnPostgres } from '@logistics/testkit/databases'
import { sql } from 'drizzle-orm'
import ky from 'ky'
import postgres from 'postgres'
import { type DeliveryDb, migrationsFolder as deliveryMigrations, schema as deliverySchema } from '../delivery/src/db'
import { advanceDeliveries } from '../delivery/src/modules/transitions/tick'
import * as ecommerceSchema from '../ecommerce/src/db/schema'
import { freePort, root, type ServiceProcess, startService } from '../scripts/services'

const KEY = 'outage-test-key-0123456789'
// Terminating database backends under live processes needs a PostgreSQL server.
describe('database outages under load', () => {
  let deliveryDatabase: TestDatabase<typeof deliverySchema>
  let ecommerceDatabase: TestDatabase<typeof ecommerceSchema>
  const processes: ServiceProcess[] = []
  const lines: string[] = []

  // Hooks only where the test runs: in a skipped block bun reports each hook as a skipped "(unnamed)" test.
  if (onRealPostgres) {
    beforeAll(async () => {
      ;[deliveryDatabase, ecommerceDatabase] = await Promise.all([
        createTestDatabase({ service: 'delivery', schema: deliverySchema, migrationsFolder: deliveryMigrations }),
        createTestDatabase({ service: 'ecommerce', schema: ecommerceSchema, migrationsFolder: `${root}/ecommerce/drizzle` }),
      ])
    })
    afterAll(async () => {
      // OUTAGE_DEBUG=1 prints what the services logged last.
      if (process.env.OUTAGE_DEBUG) console.log(lines.slice(-40).join('\n'))
      await Promise.all(processes.map((p) => p.kill()))
      await Promise.all([deliveryDatabase?.close(), ecommerceDatabase?.close()])
    })
  }

  testOnPostgres(
    '503s (never 500s) while the databases are cut, exact stock, every event applied once',
    async () => {
      const delivery = await startService('delivery', {
        env: {
          DATABASE_URL: deliveryDatabase.url!,
          DELIVERY_API_KEYS: `ecommerce:${KEY}`,
          STATUS_TICK_SECONDS: '1',
          WEBHOOK_LEASE_SECONDS: '3',
          WEBHOOK_TIMEOUT_SECONDS: '1',
          LOG_LEVEL: 'warn',
        },
        onLine: (l) => lines.push(`delivery ${l}`),
      })
      processes.push(delivery)
      const port = await freePort()
      const ecommerce = await startService('ecommerce', {
        port,
        env: {
          DATABASE_URL: ecommerceDatabase.url!,
          DELIVERY_API_URL: delivery.url,
          DELIVERY_API_KEY: KEY,
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          LOG_LEVEL: 'warn',
        },
        onLine: (l) => lines.push(`ecommerce ${l}`),
      })
      processes.push(ecommerce)
      const ddb = deliveryDatabase.db as DeliveryDb
      const edb = ecommerceDatabase.db
      for (let i = 0; (await queryRows(ddb, sql`select 1 from webhook_subscriptions`)).length === 0; i++) {
        if (i > 200) throw new Error('ecommerce did not register its webhook')
        await Bun.sleep(50)
      }

      // A seller with one product, and a customer.
      const api = ky.create({ prefix: ecommerce.url, retry: 0, throwHttpErrors: false, timeout: 10_000 })
      const login = async (email: string, password: string) =>
        ((await api.post('auth/login', { json: { email, password } }).json()) as { access_token: string }).access_token
      const admin = await login('admin@example.com', 'admin-password-change-me')
      const sellerEmail = `seller-${crypto.randomUUID().slice(0, 8)}@outage.test`
      const seller = (await api
        .post('sellers', {
          headers: { authorization: `Bearer ${admin}` },
          json: {
            name: 'Outage Shop',
            description: 'Sells through outages',
            admins: [{ email: sellerEmail, password: 'seller-password', name: 'Sam' }],
          },
        })
        .json()) as { id: string }
      const sellerToken = await login(sellerEmail, 'seller-password')
      await api.patch(`sellers/${seller.id}`, {
        headers: { authorization: `Bearer ${sellerToken}` },
        json: { warehouse_address: '1 Dock St' },
      })
      const INITIAL = 100_000
      const product = (await api
        .post('products', {
          headers: { authorization: `Bearer ${sellerToken}` },
          json: { sku: 'OUT-1', name: 'Lamp', description: 'A lamp', quantity: INITIAL },
        })
        .json()) as { id: string }
      const customerEmail = `carla-${crypto.randomUUID().slice(0, 8)}@outage.test`
      await api.post('users', {
        json: { email: customerEmail, password: 'customer-password', name: 'Carla', shipping_address: '9 Main St' },
      })
      const customerToken = await login(customerEmail, 'customer-password')

      // Every answer, by status; each step retried (same Idempotency-Key for purchases) while 503, or
      // 429 (one customer buys in every flow: past PURCHASES_PER_CUSTOMER in progress, it is asked to wait).
      const statuses = new Map<number, number>()
      const unexpected: string[] = []
      const call = async (what: string, send: () => Promise<Response>, ok: number[]) => {
        for (let attempt = 0; attempt < 100; attempt++) {
          const r = await send()
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
          if (ok.includes(r.status)) return r
          if (r.status !== 503 && r.status !== 429) {
            unexpected.push(`${what}: ${r.status} ${await r.text()}`)
            return r
          }
          expect(r.headers.get('content-type')).toContain('application/problem+json')
          expect(r.headers.get('retry-after')).toBeTruthy()
          await Bun.sleep(50)
        }
        throw new Error(`${what}: still refused after 100 attempts`)
      }
      const dispatched: string[] = []
      let bought = 0
      async function flow(n: number) {
        const key = `outage-${n}`
        const quantity = 1 + (n % 3)
        const purchase = await call(
          'purchase',
          () =>
            api.post('purchases', {
              headers: { authorization: `Bearer ${customerToken}`, 'idempotency-key': key },
              json: { items: [{ product_id: product.id, quantity }] },
            }),
          [201],
        )
        if (purchase.status !== 201) return
        bought++
        const orderId = ((await purchase.json()) as { orders: { id: string }[] }).orders[0]!.id
        const seller = { authorization: `Bearer ${sellerToken}` }
        // A retried transition that did commit answers 409 (already there): that is a success too.
        const confirmed = await call('confirm', () => api.post(`orders/${orderId}/confirm`, { headers: seller }), [200, 409])
        if (confirmed.status !== 200 && confirmed.status !== 409) return
        const sent = await call('dispatch', () => api.post(`orders/${orderId}/dispatch`, { headers: seller }), [200, 409])
        if (sent.status === 200 || sent.status === 409) dispatched.push(orderId)
      }

      // ~5 s of load, a flow every 50 ms; both databases cut at 1.5 s and at 3.5 s.
      const admin_ = postgres(testDatabaseUrl!, { max: 1, onnotice: () => {} })
      const names = [new URL(deliveryDatabase.url!).pathname.slice(1), new URL(ecommerceDatabase.url!).pathname.slice(1)]
      let terminated = 0
      const cut = async () => {
        const rows =
          await admin_`select pg_terminate_backend(pid) as ok from pg_stat_activity where datname in ${admin_(names)} and pid <> pg_backend_pid()`
        terminated += rows.filter((r) => r.ok).length
      }
      const flows: Promise<void>[] = []
      const started = Date.now()
      const cuts = [Bun.sleep(1500).then(cut), Bun.sleep(3500).then(cut)]
      for (let n = 0; Date.now() - started < 5000; n++) {
        flows.push(flow(n))
        await Bun.sleep(50)
      }
      await Promise.all([...flows, ...cuts])
      await admin_.end()

      expect(terminated).toBeGreaterThan(0)
      expect(unexpected).toEqual([])
      expect(statuses.get(500)).toBeUndefined()
      expect([...statuses.keys()].every((s) => [200, 201, 409, 429, 503].includes(s))).toBe(true)
      expect(bought).toBeGreaterThan(0)

      // Stock exact: what is left plus what the orders hold is what there was.
      const [stock] = await queryRows<{ left: number; sold: number; purchases: number }>(
        edb,
        sql`select (select quantity::int from products where id = ${product.id}) as left,
                 (select coalesce(sum(quantity), 0)::int from order_items where product_id = ${product.id}) as sold,
                 (select count(*)::int from purchases) as purchases`,
      )
      expect(stock!.left + stock!.sold).toBe(INITIAL)
      expect(stock!.purchases).toBe(bought) // each retried purchase bought once (Idempotency-Key)

      // Drive the deliveries to the end with fast ticks, dated a moment ahead 5 ms apart (so the
      // process's own 1 s cron stands aside), then wait for the dispatcher to bring every event over.
      const base = Date.now() + 1000
      for (let i = 1; i <= 60; i++) {
        const [open] = await queryRows<{ n: number }>(ddb, sql`select count(*)::int as n from deliveries where status <> 'DELIVERED'`)
        if (open!.n === 0) break
        await advanceDeliveries(ddb, { now: new Date(base + i * 5) })
      }
      const deadline = Date.now() + 15_000
      for (;;) {
        const [left] = await queryRows<{ n: number }>(ddb, sql`select count(*)::int as n from webhook_events where state <> 'delivered'`)
        if (left!.n === 0) break
        if (Date.now() > deadline) throw new Error(`${left!.n} webhook events still not delivered`)
        await Bun.sleep(100)
      }

      // Every dispatched order is delivered, exactly one 'delivered' event each; ecommerce applied
      // every webhook event once (one processed id per event), none lost.
      const orders = await queryRows<{ id: string; status: string; delivery_status: string | null; delivered_events: number }>(
        edb,
        sql`select o.id, o.status, o.delivery_status,
            (select count(*)::int from order_events e where e.order_id = o.id and e.status = 'delivered') as delivered_events
          from orders o where o.status <> 'created' and o.status <> 'confirmed'`,
      )
      expect(orders.map((o) => o.id).sort()).toEqual([...new Set(dispatched)].sort())
      for (const o of orders) expect(o).toEqual({ id: o.id, status: 'delivered', delivery_status: 'DELIVERED', delivered_events: 1 })
      const [events] = await queryRows<{ n: number }>(ddb, sql`select count(*)::int as n from webhook_events`)
      const [processed] = await queryRows<{ n: number }>(edb, sql`select count(*)::int as n from processed_webhooks`)
      expect(processed!.n).toBe(events!.n)

      // The logs: no SQL or parameters anywhere; the outage named at most once per cut and loop.
      expect(lines.filter((l) => /Failed query|params:|insert into|select .* from/i.test(l))).toEqual([])
      expect(lines.filter((l) => l.includes('"level":"error"'))).toEqual([])
      for (const component of ['status tick', 'webhook dispatcher'])
        expect(
          lines.filter((l) => l.includes('database unavailable') && l.includes(`"component":"${component}"`)).length,
        ).toBeLessThanOrEqual(2)
    },
    60_000,
  )
})
