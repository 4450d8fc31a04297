import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import postgres from 'postgres'
import { idempotencyKeys, orders, purchases } from '../src/db/schema'
import { deleteExpiredIdempotencyKeys } from '../src/modules/purchases/service'
import { createHarness, type Harness, testConfig, testOnPostgres } from './helpers'

let h: Harness
let admin: string
beforeAll(async () => {
  h = await createHarness()
  admin = await h.adminToken()
})
afterAll(() => h.close())

describe('buying', () => {
  test('a purchase across two sellers: one order per seller with snapshots, stock reduced', async () => {
    const a = await h.seller('ShopA', admin)
    const b = await h.seller('ShopB', admin)
    const pa1 = await h.product(a.token, 'A-1', 10)
    const pa2 = await h.product(a.token, 'A-2', 10)
    const pb = await h.product(b.token, 'B-1', 5)
    const c = await h.customer('Bob')
    const r = await h.buy(c.token, [
      { product_id: pa1.id, quantity: 2 },
      { product_id: pb.id, quantity: 5 },
      { product_id: pa2.id, quantity: 1 },
      { product_id: pa1.id, quantity: 1 }, // merged with the first line
    ])
    expect(r.status).toBe(201)
    expect(r.headers.get('location')).toBe(`/purchases/${r.body.id}`)
    expect(r.body.customer_id).toBe(c.id)
    expect(r.body.orders).toHaveLength(2)
    const orderA = r.body.orders.find((o: any) => o.seller_id === a.id)
    const orderB = r.body.orders.find((o: any) => o.seller_id === b.id)
    expect(orderA).toMatchObject({
      purchase_id: r.body.id,
      customer_id: c.id,
      status: 'created',
      delivery: {
        name: 'Bob',
        address: "Bob's home, 9 Main St",
        origin_address: 'ShopA warehouse, 1 Dock St',
        tracking_number: null,
        status: null,
      },
    })
    expect(orderA.items).toEqual([
      { product_id: pa1.id, sku: 'A-1', name: 'Product A-1', quantity: 3 },
      { product_id: pa2.id, sku: 'A-2', name: 'Product A-2', quantity: 1 },
    ])
    expect(orderB.items).toEqual([{ product_id: pb.id, sku: 'B-1', name: 'Product B-1', quantity: 5 }])
    expect(orderB.delivery.origin_address).toBe('ShopB warehouse, 1 Dock St')
    expect(await h.stock(pa1.id)).toBe(7)
    expect(await h.stock(pa2.id)).toBe(9)
    expect(await h.stock(pb.id)).toBe(0)

    // snapshots survive later edits of the product and the seller
    await h.request('PATCH', `/products/${pa1.id}`, { token: a.token, body: { name: 'Renamed' } })
    await h.request('PATCH', `/sellers/${a.id}`, { token: a.token, body: { warehouse_address: 'Moved' } })
    const again = await h.request('GET', `/orders/${orderA.id}`, { token: c.token })
    expect(again.body.items[0].name).toBe('Product A-1')
    expect(again.body.delivery.origin_address).toBe('ShopA warehouse, 1 Dock St')
    const viewed = await h.request('GET', `/purchases/${r.body.id}`, { token: c.token })
    expect(viewed.status).toBe(200)
    expect(viewed.body.orders).toHaveLength(2)
    const other = await h.customer()
    expect((await h.request('GET', `/purchases/${r.body.id}`, { token: other.token })).status).toBe(404)
  })

  test('all or nothing: one short line rejects the whole purchase with 409 naming each short product', async () => {
    const s = await h.seller('Short', admin)
    const plenty = await h.product(s.token, 'P-1', 100)
    const few = await h.product(s.token, 'F-1', 2)
    const none = await h.product(s.token, 'N-1', 0)
    const c = await h.customer()
    const r = await h.buy(c.token, [
      { product_id: plenty.id, quantity: 10 },
      { product_id: few.id, quantity: 3 },
      { product_id: none.id, quantity: 1 },
    ])
    expect(r.status).toBe(409)
    expect(r.body.code).toBe('insufficient-stock')
    expect(r.body.type).toBe('/problems/insufficient-stock')
    // each short product named the way the shopper knows it: by its sku (and its id)
    expect(r.body.products).toEqual(
      expect.arrayContaining([
        { product_id: few.id, sku: 'F-1', requested: 3, available: 2 },
        { product_id: none.id, sku: 'N-1', requested: 1, available: 0 },
      ]),
    )
    expect(r.body.products).toHaveLength(2)
    expect(r.body.detail).toContain('F-1 (requested 3, available 2)')
    expect(r.body.detail).toContain('N-1 (requested 1, available 0)')
    expect(r.body.detail).not.toContain('P-1')
    expect(await h.stock(plenty.id)).toBe(100)
    expect(await h.stock(few.id)).toBe(2)
    expect(await h.db.select().from(purchases).where(eq(purchases.customerId, c.id))).toHaveLength(0)
    expect(await h.db.select().from(orders).where(eq(orders.customerId, c.id))).toHaveLength(0)
  })

  test('unknown or deleted products answer 422 naming them, and nothing changes', async () => {
    const s = await h.seller('Gone', admin)
    const p = await h.product(s.token, 'G-1', 5)
    const gone = await h.product(s.token, 'G-2', 5)
    await h.request('DELETE', `/products/${gone.id}`, { token: s.token })
    const c = await h.customer()
    const unknownId = crypto.randomUUID()
    const r = await h.buy(c.token, [
      { product_id: p.id, quantity: 1 },
      { product_id: unknownId, quantity: 1 },
      { product_id: gone.id, quantity: 1 },
    ])
    expect(r.status).toBe(422)
    expect(r.body.detail).toContain(unknownId)
    expect(r.body.detail).toContain(gone.id)
    expect(await h.stock(p.id)).toBe(5)
  })

  test('invalid bodies answer 422; only customers buy (seller/admin 403, anonymous 401)', async () => {
    const c = await h.customer()
    expect((await h.request('POST', '/purchases', { token: c.token, body: { items: [] } })).status).toBe(422)
    expect((await h.buy(c.token, [{ product_id: 'x', quantity: 1 }])).status).toBe(422)
    expect((await h.buy(c.token, [{ product_id: crypto.randomUUID(), quantity: 0 }])).status).toBe(422)
    const s = await h.seller('NotBuyer', admin)
    const p = await h.product(s.token, 'NB', 1)
    expect((await h.buy(s.token, [{ product_id: p.id, quantity: 1 }])).status).toBe(403)
    expect((await h.buy(admin, [{ product_id: p.id, quantity: 1 }])).status).toBe(403)
    expect((await h.request('POST', '/purchases', { body: { items: [{ product_id: p.id, quantity: 1 }] } })).status).toBe(401)
    expect(await h.stock(p.id)).toBe(1)
  })
})

describe('Idempotency-Key', () => {
  test('a retried purchase with the same key returns the first result and buys once', async () => {
    const s = await h.seller('Idem', admin)
    const p = await h.product(s.token, 'I-1', 10)
    const c = await h.customer()
    const key = { 'idempotency-key': 'purchase-123' }
    const first = await h.buy(c.token, [{ product_id: p.id, quantity: 3 }], key)
    const second = await h.buy(c.token, [{ product_id: p.id, quantity: 3 }], key)
    expect(first.status).toBe(201)
    expect(second.status).toBe(201)
    expect(second.body).toEqual(first.body)
    expect(second.headers.get('location')).toBe(first.headers.get('location'))
    expect(await h.stock(p.id)).toBe(7)
    // another customer may use the same key for its own purchase
    const other = await h.customer()
    const theirs = await h.buy(other.token, [{ product_id: p.id, quantity: 1 }], key)
    expect(theirs.status).toBe(201)
    expect(theirs.body.id).not.toBe(first.body.id)
    expect(await h.stock(p.id)).toBe(6)
  })

  test('the same key with a different body answers 409 and buys nothing', async () => {
    const s = await h.seller('Idem2', admin)
    const p = await h.product(s.token, 'I-2', 10)
    const c = await h.customer()
    const key = { 'idempotency-key': 'k-2' }
    expect((await h.buy(c.token, [{ product_id: p.id, quantity: 1 }], key)).status).toBe(201)
    const r = await h.buy(c.token, [{ product_id: p.id, quantity: 2 }], key)
    expect(r.status).toBe(409)
    expect(r.body.code).toBe('idempotency-key-reused')
    expect(await h.stock(p.id)).toBe(9)
  })

  test('a failed purchase does not burn the key', async () => {
    const s = await h.seller('Idem3', admin)
    const p = await h.product(s.token, 'I-3', 1)
    const c = await h.customer()
    const key = { 'idempotency-key': 'k-3' }
    expect((await h.buy(c.token, [{ product_id: p.id, quantity: 2 }], key)).status).toBe(409)
    await h.request('PATCH', `/products/${p.id}`, { token: s.token, body: { quantity: 5 } })
    expect((await h.buy(c.token, [{ product_id: p.id, quantity: 2 }], key)).status).toBe(201)
    expect(await h.stock(p.id)).toBe(3)
  })

  test('concurrent requests with one key buy once', async () => {
    const s = await h.seller('Idem4', admin)
    const p = await h.product(s.token, 'I-4', 100)
    const c = await h.customer()
    const key = { 'idempotency-key': 'k-4' }
    const results = await Promise.all(Array.from({ length: 10 }, () => h.buy(c.token, [{ product_id: p.id, quantity: 1 }], key)))
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201))
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1)
    expect(await h.stock(p.id)).toBe(99)
  })
})

describe('Idempotency-Key expiry (24 h)', () => {
  const age = (customerId: string, key: string, hours: number) =>
    h.db
      .update(idempotencyKeys)
      .set({ createdAt: new Date(Date.now() - hours * 3600_000) })
      .where(and(eq(idempotencyKeys.customerId, customerId), eq(idempotencyKeys.key, key)))

  test('a key older than 24 h is treated as new: the same key buys again, even with another body', async () => {
    const s = await h.seller('Expire', admin)
    const p = await h.product(s.token, 'E-1', 10)
    const c = await h.customer()
    const key = { 'idempotency-key': 'old-key' }
    const first = await h.buy(c.token, [{ product_id: p.id, quantity: 1 }], key)
    expect(first.status).toBe(201)
    await age(c.id, 'old-key', 23)
    const replay = await h.buy(c.token, [{ product_id: p.id, quantity: 1 }], key)
    expect(replay.body.id).toBe(first.body.id) // still remembered at 23 h
    await age(c.id, 'old-key', 25)
    const again = await h.buy(c.token, [{ product_id: p.id, quantity: 2 }], key)
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBeNull()
    expect(again.body.id).not.toBe(first.body.id)
    expect(await h.stock(p.id)).toBe(7)
    // and the renewed key now replays the new purchase
    const replay2 = await h.buy(c.token, [{ product_id: p.id, quantity: 2 }], key)
    expect(replay2.body.id).toBe(again.body.id)
    expect(await h.stock(p.id)).toBe(7)
  })

  test('the clean-up deletes the expired keys only', async () => {
    const s = await h.seller('Sweep', admin)
    const p = await h.product(s.token, 'SW-1', 10)
    const c = await h.customer()
    await h.buy(c.token, [{ product_id: p.id, quantity: 1 }], { 'idempotency-key': 'stale' })
    await h.buy(c.token, [{ product_id: p.id, quantity: 1 }], { 'idempotency-key': 'fresh' })
    await age(c.id, 'stale', 24.5)
    expect(await deleteExpiredIdempotencyKeys(h.db)).toBeGreaterThanOrEqual(1)
    const left = await h.db.select({ key: idempotencyKeys.key }).from(idempotencyKeys).where(eq(idempotencyKeys.customerId, c.id))
    expect(left.map((k) => k.key)).toEqual(['fresh'])
    // with an injected clock 25 h later, the fresh one goes too
    expect(await deleteExpiredIdempotencyKeys(h.db, new Date(Date.now() + 25 * 3600_000))).toBeGreaterThanOrEqual(1)
    expect(await h.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.customerId, c.id))).toHaveLength(0)
  })
})

describe('concurrency', () => {
  testOnPostgres('200 concurrent purchases of the last 50 units → exactly 50 succeed, stock 0', async () => {
    const s = await h.seller('Rush', admin)
    const p = await h.product(s.token, 'LAST', 50)
    const c = await h.customer()
    const results = await Promise.all(Array.from({ length: 200 }, () => h.buy(c.token, [{ product_id: p.id, quantity: 1 }])))
    const statuses = results.map((r) => r.status)
    expect(statuses.filter((x) => x === 201)).toHaveLength(50)
    expect(statuses.filter((x) => x === 409)).toHaveLength(150)
    expect(await h.stock(p.id)).toBe(0)
    expect(await h.db.select().from(orders).where(eq(orders.customerId, c.id))).toHaveLength(50)
  })

  testOnPostgres('concurrent multi-product purchases in opposite orders neither deadlock nor drift', async () => {
    const s = await h.seller('Cross', admin)
    const x = await h.product(s.token, 'X', 60)
    const y = await h.product(s.token, 'Y', 60)
    const c = await h.customer()
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        h.buy(
          c.token,
          i % 2 === 0
            ? [
                { product_id: x.id, quantity: 1 },
                { product_id: y.id, quantity: 1 },
              ]
            : [
                { product_id: y.id, quantity: 1 },
                { product_id: x.id, quantity: 1 },
              ],
        ),
      ),
    )
    const ok = results.filter((r) => r.status === 201).length
    expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true)
    expect(ok).toBe(60)
    expect(await h.stock(x.id)).toBe(0)
    expect(await h.stock(y.id)).toBe(0)
  })

  test('concurrent purchases never oversell (embedded database too)', async () => {
    const s = await h.seller('Rush2', admin)
    const p = await h.product(s.token, 'LAST2', 5)
    const c = await h.customer()
    const results = await Promise.all(Array.from({ length: 20 }, () => h.buy(c.token, [{ product_id: p.id, quantity: 1 }])))
    expect(results.filter((r) => r.status === 201)).toHaveLength(5)
    expect(await h.stock(p.id)).toBe(0)
  })
})

/** Holds a product's row lock from a connection of its own (a stock count, an operator's session) until released. */
async function holdRow(url: string, productId: string) {
  const holder = postgres(url, { max: 1, onnotice: () => {} })
  let release!: () => void
  const released = new Promise<void>((r) => {
    release = r
  })
  let locked!: () => void
  const isLocked = new Promise<void>((r) => {
    locked = r
  })
  const holding = holder.begin(async (tx) => {
    await tx`select 1 from products where id = ${productId} for update`
    locked()
    await released
  })
  await isLocked
  return {
    async release() {
      release()
      await holding.catch(() => {})
      await holder.end()
    },
  }
}

describe('purchases in the database at once (PURCHASE_CONCURRENCY)', () => {
  test('is 4 unless set, and anything outside 1–9 stops start-up naming it', () => {
    expect(testConfig().PURCHASE_CONCURRENCY).toBe(4)
    expect(testConfig({ PURCHASE_CONCURRENCY: '9' }).PURCHASE_CONCURRENCY).toBe(9)
    for (const bad of ['0', '10', '-1', 'four', '2.5'])
      expect(() => testConfig({ PURCHASE_CONCURRENCY: bad })).toThrow(/PURCHASE_CONCURRENCY/)
  })

  test('a refused or failed purchase gives its turn back: with one at a time, purchases after failures still go through', async () => {
    const one = await createHarness({ config: { PURCHASE_CONCURRENCY: '1' } })
    try {
      const oneAdmin = await one.adminToken()
      const s = await one.seller('Turns', oneAdmin)
      const p = await one.product(s.token, 'TURN', 3)
      const c = await one.customer()
      expect((await one.buy(c.token, [{ product_id: p.id, quantity: 1 }], { 'idempotency-key': 'k' })).status).toBe(201)
      const results = await Promise.all([
        one.buy(c.token, [{ product_id: p.id, quantity: 5 }]), // 409: short
        one.buy(c.token, [{ product_id: crypto.randomUUID(), quantity: 1 }]), // 422: unknown
        one.buy(c.token, [{ product_id: p.id, quantity: 2 }], { 'idempotency-key': 'k' }), // 409: key reused
        ...Array.from({ length: 4 }, () => one.buy(c.token, [{ product_id: p.id, quantity: 1 }])),
      ])
      expect(results.slice(0, 3).map((r) => r.status)).toEqual([409, 422, 409])
      // the last 2 units go to two of the last four
      const statuses = results.slice(3).map((r) => r.status)
      expect(statuses.sort()).toEqual([201, 201, 409, 409])
      expect(await one.stock(p.id)).toBe(0)
    } finally {
      await one.close()
    }
  })

  testOnPostgres('purchases queued on a locked product leave the pool to everyone else, and all go through once it is free', async () => {
    const s = await h.seller('Locked', admin)
    const hot = await h.product(s.token, 'HOT', 100)
    const other = await h.product(s.token, 'OTHER', 1)
    const c = await h.customer()
    // A long transaction (a stock count, an operator's session) holds the hot product's row.
    const holder = await holdRow(h.database.url!, hot.id)
    const probe = postgres(h.database.url!, { max: 1, onnotice: () => {} })
    const waitingOnLocks = async () =>
      (
        await probe<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`
      )[0]!.n
    try {
      // More purchases than the pool has connections (20 in tests, 10 in production), sent in groups
      // of 6: a group's logins (one query each) then find idle connections. Thirty logins at once
      // would have postgres.js pipeline some behind the purchases waiting on the lock (a known
      // limit, docs/design.md "Purchases take turns"), and those requests would wait for the lock before being counted.
      const inService = async () =>
        Number((await h.request('GET', '/metrics')).text.match(/^ecommerce_purchases_waiting\{[^}]*\} (\d+)$/m)?.[1])
      const settled = async (inDatabase: number, waiting: number) => {
        for (let i = 0; i < 250 && ((await inService()) < waiting || (await waitingOnLocks()) < inDatabase); i++) await Bun.sleep(20)
      }
      const sent: Promise<Awaited<ReturnType<typeof h.buy>>>[] = []
      for (let group = 0; group < 5; group++) {
        sent.push(...Array.from({ length: 6 }, () => h.buy(c.token, [{ product_id: hot.id, quantity: 1 }])))
        await settled(Math.min(sent.length, h.config.PURCHASE_CONCURRENCY), Math.max(0, sent.length - h.config.PURCHASE_CONCURRENCY))
      }
      const buying = Promise.all(sent)
      // Every purchase past authentication: PURCHASE_CONCURRENCY of them wait in the database, the rest in the service.
      const queued = 30 - h.config.PURCHASE_CONCURRENCY
      expect(await inService()).toBe(queued)
      expect(await waitingOnLocks()).toBe(h.config.PURCHASE_CONCURRENCY)
      // Reads are not stuck behind them.
      const timeout = (ms: number) => Bun.sleep(ms).then(() => 'timed out' as const)
      const read = await Promise.race([h.request('GET', `/products/${other.id}`), timeout(3000)])
      expect(read === 'timed out' ? read : read.status).toBe(200)
      const orders = await Promise.race([h.request('GET', '/orders', { token: c.token }), timeout(3000)])
      expect(orders === 'timed out' ? orders : orders.status).toBe(200)
      await holder.release()
      const results = await buying
      expect(results.map((r) => r.status)).toEqual(Array(30).fill(201))
      expect(await h.stock(hot.id)).toBe(70)
    } finally {
      await holder.release()
      await probe.end()
    }
  })

  testOnPostgres(
    'while purchases wait, one customer past PURCHASES_PER_CUSTOMER gets 429 and a full line 503, at once and changing nothing',
    async () => {
      const bounded = await createHarness({ config: { PURCHASES_PER_CUSTOMER: '2', PURCHASE_QUEUE_LIMIT: '3' } })
      try {
        const boundedAdmin = await bounded.adminToken()
        const s = await bounded.seller('Bounded', boundedAdmin)
        const hot = await bounded.product(s.token, 'BOUND', 100)
        const [a, b, c, d] = [
          await bounded.customer('A'),
          await bounded.customer('B'),
          await bounded.customer('C'),
          await bounded.customer('D'),
        ]
        const holder = await holdRow(bounded.database.url!, hot.id)
        try {
          const answered: { status: number; code?: string; retryAfter: string | null }[] = []
          const buy = (token: string) =>
            bounded.buy(token, [{ product_id: hot.id, quantity: 1 }]).then((r) => {
              answered.push({ status: r.status, code: r.body?.code, retryAfter: r.headers.get('retry-after') })
              return r
            })
          const until = async (n: number) => {
            for (let i = 0; i < 250 && answered.length < n; i++) await Bun.sleep(20)
          }
          // A sends five: two are taken (and wait on the lock), three are refused at once.
          const fromA = Array.from({ length: 5 }, () => buy(a.token))
          await until(3)
          expect(answered).toEqual(Array(3).fill({ status: 429, code: 'too-many-purchases', retryAfter: '1' }))
          // B, C and D send two each: two more go into the database (4 at once), three wait, one is one too many.
          const fromOthers = [b, c, d].flatMap((x) => [buy(x.token), buy(x.token)])
          await until(4)
          expect(answered[3]).toEqual({ status: 503, code: 'purchases-busy', retryAfter: '1' })
          const metrics = (await bounded.request('GET', '/metrics')).text
          expect(metrics).toMatch(/^ecommerce_purchases_refused_total\{reason="too-many-purchases"[^}]*\} 3$/m)
          expect(metrics).toMatch(/^ecommerce_purchases_refused_total\{reason="purchases-busy"[^}]*\} 1$/m)
          await holder.release()
          const statuses = (await Promise.all([...fromA, ...fromOthers])).map((r) => r.status)
          expect(statuses.filter((x) => x === 201)).toHaveLength(7)
          // the refused purchases changed nothing: 7 units sold, A has its two orders
          expect(await bounded.stock(hot.id)).toBe(93)
          expect((await bounded.request('GET', '/orders', { token: a.token })).body.total).toBe(2)
        } finally {
          await holder.release()
        }
      } finally {
        await bounded.close()
      }
    },
  )
})
