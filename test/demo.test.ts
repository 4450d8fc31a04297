/**
 * `bun run demo` uses only the demo data of `bun run seed`: without it, it says to run the seed and
 * exits 1 having changed nothing; with it, it buys the demo sellers' own products by SKU, whatever
 * else the catalogue holds. It also says how long the run will take at the current tick.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { count } from 'drizzle-orm'
import { products, purchases, sellers } from '../ecommerce/src/db/schema'
import { ADMIN, createHarness, type Harness } from '../ecommerce/test/helpers'
import { findDemoCast, tickSeconds, waitEstimate } from '../scripts/demo'
import { DEMO_SELLERS, seed } from '../scripts/seed'
import { root } from '../scripts/services'

let h: Harness
let server: ReturnType<typeof Bun.serve>
let url: string
beforeAll(async () => {
  h = await createHarness()
  server = Bun.serve({ port: 0, fetch: (request) => h.app.handle(request) })
  url = `http://127.0.0.1:${server.port}`
  // Someone else's seller with the newest product (the walkthrough's hammer).
  const admin = await h.adminToken()
  const other = await h.seller('Walkthrough Tools', admin)
  await h.product(other.token, 'HAMMER-1', 5)
}, 60_000)
afterAll(async () => {
  server?.stop(true)
  await h?.close()
})

const rows = async () => ({
  sellers: (await h.db.select({ n: count() }).from(sellers))[0]!.n,
  products: (await h.db.select({ n: count() }).from(products))[0]!.n,
  purchases: (await h.db.select({ n: count() }).from(purchases))[0]!.n,
})

describe('bun run demo', () => {
  test('without the demo data it says to run bun run seed, exits 1 and changes nothing', async () => {
    const before = await rows()
    const run = Bun.spawn(['bun', 'scripts/demo.ts'], {
      cwd: root,
      env: { ...process.env, ECOMMERCE_URL: url, DELIVERY_URL: 'http://127.0.0.1:9' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, stderr] = await Promise.all([run.exited, new Response(run.stderr).text()])
    expect(code).toBe(1)
    expect(stderr).toContain('Run `bun run seed` first')
    for (const s of DEMO_SELLERS) expect(stderr).toContain(s.name)
    expect(await rows()).toEqual(before)
  }, 60_000)

  test("with the demo data it picks one in-stock product of each demo seller by SKU, never another seller's", async () => {
    await seed({ ecommerceUrl: url, adminEmail: ADMIN.email, adminPassword: ADMIN.password, log: () => {} })
    const admin = await h.adminToken()
    const other = await h.seller('Late Tools', admin)
    await h.product(other.token, 'HAMMER-2', 5) // newer than every demo product
    const cast = await findDemoCast(url)
    expect(cast.shopper.user.role).toBe('customer')
    expect(cast.sellers.map((s) => s.name)).toEqual(DEMO_SELLERS.map((s) => s.name))
    for (const [i, s] of cast.sellers.entries()) {
      expect(DEMO_SELLERS[i]!.products.map(([sku]) => sku as string)).toContain(s.product.sku)
      expect(s.product.seller_id).toBe(s.session.user.seller_id!)
      expect(s.product.quantity).toBeGreaterThan(0)
    }
  })

  test('says how long it takes at the current tick (from the delivery /health) and how to make it faster', async () => {
    const delivery = Bun.serve({ port: 0, fetch: () => Response.json({ status: 'ok', tick_seconds: 30 }) })
    try {
      expect(await tickSeconds(`http://127.0.0.1:${delivery.port}`)).toBe(30)
    } finally {
      delivery.stop(true)
    }
    const defaults = { ecommerce: 'http://localhost:3000', delivery: 'http://localhost:3001' }
    expect(waitEstimate(30, defaults)).toContain('every 30 s: about 3 min')
    expect(waitEstimate(30, defaults)).toContain('for a quicker run: STATUS_TICK_SECONDS=3 bun run dev, then bun run demo')
    expect(waitEstimate(2, defaults)).toContain('about 12 s')
    // A quick tick already (the tester's STATUS_TICK_SECONDS=3): no hint to use the tick it has.
    expect(waitEstimate(3, defaults)).not.toContain('STATUS_TICK_SECONDS')
    expect(waitEstimate(5, defaults)).not.toContain('STATUS_TICK_SECONDS')
    // Unknown (the delivery service did not answer): no guess, but how to let the demo read it.
    expect(waitEstimate(undefined, defaults)).not.toContain('STATUS_TICK_SECONDS=3')
    expect(waitEstimate(undefined, defaults)).toContain('DELIVERY_URL')
    // Moved ports: the commands carry them, so they work as printed.
    const moved = { ecommerce: 'http://localhost:3300', delivery: 'http://localhost:3301' }
    expect(waitEstimate(30, moved)).toContain(
      'DELIVERY_PORT=3301 ECOMMERCE_PORT=3300 STATUS_TICK_SECONDS=3 bun run dev, then ECOMMERCE_URL=http://localhost:3300 DELIVERY_URL=http://localhost:3301 bun run demo',
    )
  })
})
