/**
 * `bun run demo`: the whole story against running services, step by step: a customer buys from
 * the two demo sellers, each seller confirms and dispatches, then the tracking updates arrive
 * (through the delivery service's webhooks) until both orders are delivered; it prints each
 * parcel's public tracking page (`delivery.tracking_url`) on the way.
 *
 * Uses only the demo data of `bun run seed` (its sellers, SKUs and customer): when that is missing
 * it says so and exits 1 before changing anything. ECOMMERCE_URL (default http://localhost:3000)
 * and DELIVERY_URL (default http://localhost:3001, read for the tick interval) say where the
 * services are. When nothing answers at ECOMMERCE_URL, it starts its own pair on in-memory
 * databases with a 2-second tick, loads the demo data into them, and stops them at the end.
 *
 * It talks to the services through clients generated from their OpenAPI documents (clients.ts):
 * the example of a client developer's program, type-checked against the documents.
 * Bold step titles only at a terminal (not in a pipe or file, nor with NO_COLOR).
 */
import type { Product } from '../docs/openapi/ecommerce'
import { describeError } from './api'
import { deliveryClient, ecommerceClient, logIn, must, type Session } from './clients'
import { painter, wantsColour } from './colour'
import { quickTickHint } from './dev-banner'
import { DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_SELLERS, seed } from './seed'
import { freePort, type ServiceProcess, startService } from './services'

const paint = painter(wantsColour())
const step = (text: string) => console.log(`\n${paint.bold(`▶ ${text}`)}`)
const info = (text: string) => console.log(`  ${text}`)

/** The demo data is not (all) there: what is missing. */
class DemoDataMissing extends Error {
  constructor(readonly missing: string[]) {
    super(`the demo data is incomplete: ${missing.join('; ')}`)
  }
}

export type DemoCast = {
  shopper: Session
  /** Each demo seller's administrator and the demo product of theirs to buy (the one with most stock). */
  sellers: { name: string; session: Session; product: Product }[]
}

async function loginOrNull(baseUrl: string, email: string) {
  return logIn(baseUrl, email, DEMO_PASSWORD).catch(() => null)
}

/**
 * Finds the demo customer, the demo sellers and one in-stock product of each by its seed SKU,
 * reading only (logins and GETs). Throws DemoDataMissing listing what is not there.
 */
export async function findDemoCast(ecommerceUrl: string): Promise<DemoCast> {
  const missing: string[] = []
  const customer = DEMO_CUSTOMERS[0]
  const shopper = await loginOrNull(ecommerceUrl, customer.email)
  if (!shopper) missing.push(`customer ${customer.email}`)
  const sellers: DemoCast['sellers'] = []
  for (const s of DEMO_SELLERS) {
    const session = await loginOrNull(ecommerceUrl, s.admin.email)
    if (!session?.user.seller_id) {
      missing.push(`seller ${s.name} (admin ${s.admin.email})`)
      continue
    }
    const skus = new Set<string>(s.products.map(([sku]) => sku))
    const listed = must(
      'list products',
      await ecommerceClient(ecommerceUrl).GET('/products', { params: { query: { seller_id: session.user.seller_id, limit: 100 } } }),
    )
    const demoProducts = listed.data.filter((p) => skus.has(p.sku))
    const product = demoProducts.filter((p) => p.quantity > 0).sort((a, b) => b.quantity - a.quantity)[0]
    if (product) sellers.push({ name: s.name, session, product })
    else if (demoProducts.length === 0) missing.push(`the products of ${s.name} (${[...skus].join(', ')})`)
    else missing.push(`stock of ${s.name}'s demo products (all sold out: start from a fresh database)`)
  }
  if (missing.length > 0 || !shopper) throw new DemoDataMissing(missing)
  return { shopper, sellers }
}

/** The delivery service's tick interval from its /health, or STATUS_TICK_SECONDS, or undefined. */
export async function tickSeconds(deliveryUrl: string | undefined): Promise<number | undefined> {
  if (deliveryUrl) {
    const health = await deliveryClient(deliveryUrl)
      .GET('/health', { signal: AbortSignal.timeout(3_000) })
      .then((r) => r.data)
      .catch(() => undefined)
    if (typeof health?.tick_seconds === 'number') return health.tick_seconds
  }
  const env = Number(process.env.STATUS_TICK_SECONDS)
  return Number.isFinite(env) && env > 0 ? env : undefined
}

const duration = (seconds: number) => (seconds < 120 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`)

/**
 * What the wait will be: a parcel needs 3 ticks at best (picked up, on its way, delivered); one
 * NOT_DELIVERED goes out again (2 more ticks each time, 50 % each), so two parcels take about 6.
 * A quicker tick is suggested only when this one is slow (the restart command with these services' ports).
 */
export function waitEstimate(tick: number | undefined, urls: { ecommerce: string; delivery: string }): string {
  if (tick === undefined)
    return `a delivery takes 3 status ticks or more (the delivery service's STATUS_TICK_SECONDS, 30 s by default; it did not answer at ${urls.delivery}: set DELIVERY_URL to read it)`
  const howLong = `the delivery service ticks every ${tick} s: about ${duration(6 * tick)} until both parcels are delivered (at least ${duration(3 * tick)}; longer when one is NOT_DELIVERED and goes out again)`
  const hint = quickTickHint(tick, urls)
  return hint ? `${howLong}; ${hint}` : howLong
}

async function main() {
  let ecommerceUrl = process.env.ECOMMERCE_URL ?? 'http://localhost:3000'
  let deliveryUrl = process.env.DELIVERY_URL ?? 'http://localhost:3001'
  const own: ServiceProcess[] = []
  const up = await fetch(`${ecommerceUrl}/health`)
    .then((r) => r.ok)
    .catch(() => false)
  try {
    if (!up) {
      step(`Nothing answers at ${ecommerceUrl}: starting a delivery and an ecommerce service of our own (in-memory, 2 s tick)`)
      const delivery = await startService('delivery', {
        env: { DATABASE_URL: 'memory://', STATUS_TICK_SECONDS: '2', LOG_LEVEL: 'warn', NODE_ENV: 'development' },
      })
      own.push(delivery)
      const port = await freePort()
      const ecommerce = await startService('ecommerce', {
        port,
        env: {
          DATABASE_URL: 'memory://',
          DELIVERY_API_URL: delivery.url,
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          LOG_LEVEL: 'warn',
          NODE_ENV: 'development',
        },
      })
      own.push(ecommerce)
      ecommerceUrl = ecommerce.url
      deliveryUrl = delivery.url
      info(`delivery ${delivery.url}, ecommerce ${ecommerce.url}`)
      step('Loading the demo data into them')
      await seed({ ecommerceUrl, log: info })
    }

    step(`Checking the demo data at ${ecommerceUrl} (read only)`)
    let cast: DemoCast
    try {
      cast = await findDemoCast(ecommerceUrl)
    } catch (error) {
      if (!(error instanceof DemoDataMissing)) throw error
      console.error(`\nThe demo needs the demo data of \`bun run seed\`, and ${ecommerceUrl} lacks:`)
      for (const m of error.missing) console.error(`  - ${m}`)
      console.error('Run `bun run seed` first (with the same ECOMMERCE_URL, ADMIN_EMAIL and ADMIN_PASSWORD). Nothing was changed.')
      process.exitCode = 1
      return
    }
    info(waitEstimate(await tickSeconds(deliveryUrl), { ecommerce: ecommerceUrl, delivery: deliveryUrl }))

    const shopper = cast.shopper
    step(`${shopper.user.email} logs in and picks one product from each demo seller`)
    for (const s of cast.sellers) info(`${s.name}: "${s.product.name}" (${s.product.sku}, ${s.product.quantity} in stock)`)

    step('One purchase from two sellers')
    const purchase = must(
      'purchase',
      await shopper.client.POST('/purchases', {
        body: { items: cast.sellers.map((s) => ({ product_id: s.product.id, quantity: 1 })) },
        params: { header: { 'Idempotency-Key': crypto.randomUUID() } },
      }),
    )
    info(`purchase ${purchase.id} split into ${purchase.orders.length} orders:`)
    for (const o of purchase.orders) info(`  order ${o.id}: ${o.items.map((i) => `${i.quantity} × ${i.name}`).join(', ')} — ${o.status}`)

    for (const order of purchase.orders) {
      const seller = cast.sellers.find((s) => s.session.user.seller_id === order.seller_id)!
      step(`Seller ${seller.session.user.email} confirms and dispatches order ${order.id.slice(0, 8)}…`)
      const byId = { params: { path: { id: order.id } } }
      const confirmed = must('confirm', await seller.session.client.POST('/orders/{id}/confirm', byId))
      info(`status: ${confirmed.status}`)
      const dispatched = must('dispatch', await seller.session.client.POST('/orders/{id}/dispatch', byId))
      info(`status: ${dispatched.status}, tracking number ${dispatched.delivery.tracking_number}, delivery ${dispatched.delivery.status}`)
      if (dispatched.delivery.tracking_url)
        info(`the parcel's public tracking page (open it, it updates live): ${dispatched.delivery.tracking_url}`)
    }

    step('Following the parcels (each change arrives through a signed webhook)')
    const seen = new Map<string, string>()
    const tick = (await tickSeconds(deliveryUrl)) ?? 30
    const patienceMs = Math.max(10 * 60_000, 40 * tick * 1000)
    const deadline = Date.now() + patienceMs
    for (;;) {
      const orders = await Promise.all(
        purchase.orders.map(async (o) => must('order', await shopper.client.GET('/orders/{id}', { params: { path: { id: o.id } } }))),
      )
      for (const o of orders) {
        const now = `${o.status}/${o.delivery.status}`
        if (seen.get(o.id) !== now) {
          seen.set(o.id, now)
          info(
            `${new Date().toISOString().slice(11, 19)}  order ${o.id.slice(0, 8)}…  ${o.delivery.tracking_number}  delivery ${o.delivery.status}  order ${o.status}`,
          )
        }
      }
      if (orders.every((o) => o.status === 'delivered')) break
      if (Date.now() > deadline) throw new Error(`not delivered within ${duration(patienceMs / 1000)}; is the delivery service ticking?`)
      await Bun.sleep(500)
    }

    step('Delivered. The tracking history of the first order:')
    const history = must(
      'tracking',
      await shopper.client.GET('/orders/{id}/tracking', { params: { path: { id: purchase.orders[0]!.id } } }),
    )
    for (const e of history.tracking) info(`${e.date}  ${e.status}`)
    step('The tracking pages (status and dates only, for the person waiting for the parcel):')
    for (const o of purchase.orders) {
      const order = must('order', await shopper.client.GET('/orders/{id}', { params: { path: { id: o.id } } }))
      info(`order ${o.id.slice(0, 8)}…  ${order.delivery.tracking_url ?? '(none: the delivery service answered no tracking_url)'}`)
    }
    console.log('\nDone.')
  } catch (error) {
    console.error(`\ndemo failed: ${await describeError(error)}`)
    process.exitCode = 1
  } finally {
    await Promise.all(own.map((s) => s.stop()))
  }
}

if (import.meta.main) await main()
