/**
 * `bun run demo`: the whole story against running services, step by step: a customer buys from
 * two sellers, each seller confirms and dispatches, then the tracking updates arrive (through the
 * delivery service's webhooks) until both orders are delivered.
 *
 * Uses ECOMMERCE_URL (default http://localhost:3000). When nothing answers there, it starts its
 * own pair on in-memory databases with a 2-second tick, and stops them at the end.
 */
import { api, describeError, login } from './api'
import { DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_SELLERS, seed } from './seed'
import { type ServiceProcess, startService } from './services'

type Order = {
  id: string
  seller_id: string
  status: string
  items: { sku: string; name: string; quantity: number }[]
  delivery: { tracking_number: string | null; status: string | null }
}
const step = (text: string) => console.log(`\n\x1b[1m▶ ${text}\x1b[0m`)
const info = (text: string) => console.log(`  ${text}`)

let ecommerceUrl = process.env.ECOMMERCE_URL ?? 'http://localhost:3000'
const own: ServiceProcess[] = []
const up = await fetch(`${ecommerceUrl}/health`).then((r) => r.ok).catch(() => false)
if (!up) {
  step(`Nothing answers at ${ecommerceUrl}: starting a delivery and an ecommerce service of our own (in-memory, 2 s tick)`)
  const delivery = await startService('delivery', { env: { DATABASE_URL: 'memory://', STATUS_TICK_SECONDS: '2', LOG_LEVEL: 'warn' } })
  own.push(delivery)
  const port = await (await import('./services')).freePort()
  const ecommerce = await startService('ecommerce', {
    port,
    env: { DATABASE_URL: 'memory://', DELIVERY_API_URL: delivery.url, PUBLIC_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'warn' },
  })
  own.push(ecommerce)
  ecommerceUrl = ecommerce.url
  info(`delivery ${delivery.url}, ecommerce ${ecommerce.url}`)
}

try {
  step('Loading the demo data (idempotent)')
  await seed({ ecommerceUrl, log: info })

  const customer = DEMO_CUSTOMERS[0]
  step(`${customer.name} logs in and browses the catalogue`)
  const shopper = await login(ecommerceUrl, customer.email, DEMO_PASSWORD)
  const catalogue = await api(ecommerceUrl).get('products', { searchParams: { limit: 100 } }).json<{ data: { id: string; seller_id: string; name: string; quantity: number }[] }>()
  const picks = [...new Map(catalogue.data.filter((p) => p.quantity > 0).map((p) => [p.seller_id, p])).values()].slice(0, 2)
  for (const p of picks) info(`picks "${p.name}" (${p.quantity} in stock)`)

  step('One purchase from two sellers')
  const purchase = await shopper.client
    .post('purchases', { json: { items: picks.map((p) => ({ product_id: p.id, quantity: 1 })) }, headers: { 'idempotency-key': crypto.randomUUID() } })
    .json<{ id: string; orders: Order[] }>()
  info(`purchase ${purchase.id} split into ${purchase.orders.length} orders:`)
  for (const o of purchase.orders) info(`  order ${o.id}: ${o.items.map((i) => `${i.quantity} × ${i.name}`).join(', ')} — ${o.status}`)

  const sellers = await Promise.all(DEMO_SELLERS.map((s) => login(ecommerceUrl, s.admin.email, DEMO_PASSWORD)))
  for (const order of purchase.orders) {
    const seller = sellers.find((s) => s.user.seller_id === order.seller_id)
    if (!seller) throw new Error(`order ${order.id} belongs to a seller that is not part of the demo data`)
    step(`Seller ${seller.user.email} confirms and dispatches order ${order.id.slice(0, 8)}…`)
    const confirmed = await seller.client.post(`orders/${order.id}/confirm`).json<Order>()
    info(`status: ${confirmed.status}`)
    const dispatched = await seller.client.post(`orders/${order.id}/dispatch`).json<Order>()
    info(`status: ${dispatched.status}, tracking number ${dispatched.delivery.tracking_number}, delivery ${dispatched.delivery.status}`)
  }

  step('Following the parcels (each change arrives through a signed webhook)')
  const seen = new Map<string, string>()
  const deadline = Date.now() + 10 * 60_000
  for (;;) {
    const orders = await Promise.all(purchase.orders.map((o) => shopper.client.get(`orders/${o.id}`).json<Order>()))
    for (const o of orders) {
      const now = `${o.status}/${o.delivery.status}`
      if (seen.get(o.id) !== now) {
        seen.set(o.id, now)
        info(`${new Date().toISOString().slice(11, 19)}  order ${o.id.slice(0, 8)}…  ${o.delivery.tracking_number}  delivery ${o.delivery.status}  order ${o.status}`)
      }
    }
    if (orders.every((o) => o.status === 'delivered')) break
    if (Date.now() > deadline) throw new Error('not delivered within 10 minutes; is STATUS_TICK_SECONDS very long?')
    await Bun.sleep(500)
  }

  step('Delivered. The tracking history of the first order:')
  const history = await shopper.client.get(`orders/${purchase.orders[0]!.id}/tracking`).json<{ tracking: { status: string; date: string }[] }>()
  for (const e of history.tracking) info(`${e.date}  ${e.status}`)
  console.log('\nDone.')
} catch (error) {
  console.error(`\ndemo failed: ${await describeError(error)}`)
  process.exitCode = 1
} finally {
  await Promise.all(own.map((s) => s.stop()))
}
