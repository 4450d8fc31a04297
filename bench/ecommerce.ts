import { join } from 'node:path'
import postgres from 'postgres'
import { api, login } from '../scripts/api'
import { freshDatabase, type LoadResult, load, median, ratio, startService } from './lib'

const PASSWORD = 'bench-password-123'

/** Rounds of one load as one result: requests and errors summed, percentiles the rounds' median. */
function combine(rounds: LoadResult[]): LoadResult {
  const requests = rounds.reduce((n, r) => n + r.requests, 0)
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0)
  const statuses: Record<string, number> = {}
  for (const r of rounds) for (const [k, n] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + n
  return {
    requests,
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    seconds: Math.round(seconds * 100) / 100,
    rps: Math.round(requests / seconds),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    statuses,
  }
}

/**
 * The catalogue read and the purchase, through the ecommerce service and through the bare
 * baseline server, on the same fresh database.
 */
export async function benchEcommerce(options: { durationMs: number; customers: number }) {
  const target = await freshDatabase('ecommerce')
  const service = await startService('ecommerce', {
    DATABASE_URL: target.url,
    DELIVERY_API_URL: 'http://127.0.0.1:9', // not needed here; its webhook registration retries quietly
    LOG_LEVEL: 'silent',
    ADMIN_PASSWORD: PASSWORD,
    // every bench customer registers from this machine's address
    REGISTRATIONS_PER_ADDRESS: '100000',
  })
  const baseline = Bun.spawn(['bun', join(import.meta.dir, 'baseline-server.ts')], {
    env: { ...process.env, DATABASE_URL: target.url, PORT: '0' },
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const sql = postgres(target.url, { max: 1, onnotice: () => {} })
  try {
    const baselinePort = Number(new TextDecoder().decode((await baseline.stdout.getReader().read()).value).trim())
    const baseUrl = `http://127.0.0.1:${baselinePort}`

    // Two sellers with one hot product each, and customers with tokens.
    const admin = await login(service.url, 'admin@example.com', PASSWORD)
    const productIds: string[] = []
    for (const n of [1, 2]) {
      await admin.client.post('sellers', {
        json: {
          name: `Bench seller ${n}`,
          description: 'bench',
          warehouse_address: `Dock ${n}`,
          admins: [{ email: `seller${n}@bench.example`, password: PASSWORD, name: `Seller ${n}` }],
        },
      })
      const seller = await login(service.url, `seller${n}@bench.example`, PASSWORD)
      const p = await seller.client
        .post('products', { json: { sku: `HOT-${n}`, name: `Hot product ${n}`, description: 'bench', quantity: 1_000_000_000 } })
        .json<{ id: string }>()
      productIds.push(p.id)
    }
    const customers: { token: string; id: string }[] = []
    for (let i = 0; i < options.customers; i++) {
      await api(service.url).post('users', {
        json: { email: `c${i}@bench.example`, password: PASSWORD, name: `Customer ${i}`, shipping_address: `Street ${i}` },
      })
      const c = await login(service.url, `c${i}@bench.example`, PASSWORD)
      customers.push({ token: c.token, id: c.user.id })
    }
    const stock = async () => (await sql<{ q: number }[]>`select sum(quantity)::bigint as q from products`)[0]!.q
    const before = Number(await stock())
    const purchaseBody = JSON.stringify({ items: productIds.map((id) => ({ product_id: id, quantity: 1 })) })

    // App and baseline take turns, three rounds each: this machine's speed drifts by ±15 % over a
    // minute, which a single run of each turned into the ratio.
    const read = (url: string, durationMs: number) =>
      load({
        requests: productIds.map((id) => ({ method: 'GET', url: `${url}/products/${id}` })),
        concurrency: 64,
        durationMs,
      })
    const rounds = 3
    const appRounds: LoadResult[] = []
    const baseRounds: LoadResult[] = []
    for (let i = 0; i < rounds; i++) {
      appRounds.push(await read(service.url, Math.max(2000, options.durationMs / rounds)))
      baseRounds.push(await read(baseUrl, Math.max(2000, options.durationMs / rounds)))
    }
    const appRead = combine(appRounds)
    const baseRead = combine(baseRounds)

    const buy = (url: string, auth: boolean, path = '/purchases') =>
      load({
        requests: customers.map((c) => ({
          method: 'POST',
          url: `${url}${path}`,
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${c.token}` } : { 'x-customer-id': c.id }) },
          body: purchaseBody,
        })),
        concurrency: 32,
        durationMs: options.durationMs,
        warmupMs: 500,
      })
    const appBuy = await buy(service.url, true)
    const baseBuy = await buy(baseUrl, false)
    const oneBuy = await buy(baseUrl, false, '/purchases-one-statement')

    // Every 201 took exactly one unit of each of the two products (warm-up included).
    const purchases = (await sql<{ n: number }[]>`select count(*)::int as n from purchases`)[0]!.n
    const orders = (await sql<{ n: number }[]>`select count(*)::int as n from orders`)[0]!.n
    const after = Number(await stock())
    const stockExact = before - after === purchases * 2 && orders === purchases * 2

    return {
      product_read: { app: appRead, baseline: baseRead, ratio: ratio(appRead.rps, baseRead.rps) },
      purchase: {
        app: appBuy,
        baseline: baseBuy,
        ratio: ratio(appBuy.rps, baseBuy.rps),
        one_statement: oneBuy,
        ratio_one_statement: ratio(appBuy.rps, oneBuy.rps),
        stock_exact: stockExact,
        purchases,
        orders,
      },
    }
  } finally {
    baseline.kill()
    await service.stop()
    await sql.end()
    await target.drop()
  }
}
