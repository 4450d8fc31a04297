import postgres from 'postgres'
import { api, login } from '../scripts/api'
import { freshDatabase, type LoadResult, load, startService } from './lib'

const PASSWORD = 'bench-password-123'

export type ListBench = {
  rows: number
  first: LoadResult
  deep: LoadResult
  /** One request for the same depth by ?offset= (what the cursor replaces). */
  offset_ms: number
  depth: number
  total: number
}

/** GET <path> at the first page and by cursor at `depth`, p50 over a short load run. */
async function measure(
  url: string,
  path: string,
  headers: Record<string, string>,
  depth: number,
  durationMs: number,
): Promise<Omit<ListBench, 'rows'>> {
  const get = (query: string) => fetch(`${url}${path}?${query}`, { headers })
  const t0 = performance.now()
  const atDepth = await get(`limit=1&offset=${depth - 1}`)
  const offset_ms = Math.round(performance.now() - t0)
  const { next_cursor, total } = (await atDepth.json()) as { next_cursor: string | null; total: number }
  if (!next_cursor) throw new Error(`${path}: no cursor at depth ${depth}`)
  const run = (query: string) =>
    load({ requests: [{ method: 'GET', url: `${url}${path}?${query}`, headers }], concurrency: 2, durationMs, warmupMs: 500 })
  const first = await run('limit=20')
  const deep = await run(`limit=20&cursor=${next_cursor}`)
  return { first, deep, offset_ms, depth, total }
}

/**
 * 1 000 000 orders (one seller owning 900 000) through GET /orders as that seller: seeded with
 * one set-based INSERT … SELECT generate_series (PostgreSQL only), then vacuumed and analysed.
 */
export async function benchOrderList(rows = 1_000_000, durationMs = 3000): Promise<ListBench> {
  const target = await freshDatabase('orders_list')
  const service = await startService('ecommerce', {
    DATABASE_URL: target.url,
    DELIVERY_API_URL: 'http://127.0.0.1:9',
    LOG_LEVEL: 'silent',
    ADMIN_PASSWORD: PASSWORD,
    REGISTRATIONS_PER_ADDRESS: '100000',
  })
  const sql = postgres(target.url, { max: 1, onnotice: () => {} })
  try {
    const admin = await login(service.url, 'admin@example.com', PASSWORD)
    for (const n of [1, 2]) {
      await admin.client.post('sellers', {
        json: {
          name: `List seller ${n}`,
          description: 'bench',
          warehouse_address: `Dock ${n}`,
          admins: [{ email: `ls${n}@bench.example`, password: PASSWORD, name: `Seller ${n}` }],
        },
      })
    }
    await api(service.url).post('users', {
      json: { email: 'lc@bench.example', password: PASSWORD, name: 'Customer', shipping_address: 'Street 1' },
    })
    const seller = await login(service.url, 'ls1@bench.example', PASSWORD)
    await seller.client.post('products', { json: { sku: 'L-1', name: 'Listed', description: 'bench', quantity: 1 } })
    // Every tenth order belongs to the second seller; one purchase per order; one item each.
    await sql.unsafe(`
      with s as (select array_agg(id order by name) as ids from sellers),
      c as (select id from users where role = 'customer' limit 1),
      p as (
        insert into purchases (customer_id, created_at)
        select c.id, now() - g * interval '1 second' from c, generate_series(1, ${rows}) g
        returning id, created_at
      )
      insert into orders (purchase_id, seller_id, customer_id, status, delivery_name, delivery_address, origin_address, created_at, updated_at)
      select p.id, case when row_number() over () % 10 = 0 then s.ids[2] else s.ids[1] end, c.id,
             (array['created','confirmed','dispatched','delivered','cancelled'])[1 + (row_number() over ()) % 5],
             'Customer', 'Street 1', 'Dock 1', p.created_at, p.created_at
      from p, s, c`)
    await sql.unsafe(`
      insert into order_items (order_id, product_id, sku, name, quantity)
      select o.id, p.id, p.sku, p.name, 1 from orders o, (select * from products limit 1) p`)
    await sql.unsafe('vacuum analyze')
    const m = await measure(service.url, '/orders', { authorization: `Bearer ${seller.token}` }, Math.round(rows * 0.8), durationMs)
    return { rows, ...m }
  } finally {
    await service.stop()
    await sql.end()
    await target.drop()
  }
}

/** 1 000 000 deliveries of one API client through GET /deliveries. */
export async function benchDeliveryList(rows = 1_000_000, durationMs = 3000): Promise<ListBench> {
  const target = await freshDatabase('deliveries_list')
  const service = await startService('delivery', {
    DATABASE_URL: target.url,
    LOG_LEVEL: 'silent',
    DELIVERY_API_KEYS: 'bench:bench-list-key',
  })
  const sql = postgres(target.url, { max: 1, onnotice: () => {} })
  try {
    await sql.unsafe(`
      insert into deliveries (client_id, tracking_number, foreign_order_id, status, products, origin_address, destination_name, destination_address, request_hash, created_at, updated_at)
      select c.id, 'TRK-L-' || g, 'order-' || g, 'READY_FOR_PICK_UP', '[{"sku":"S","name":"N","qty":1}]'::jsonb, 'Dock 1', 'Ada', 'Street 1', 'h',
             now() - g * interval '1 second', now() - g * interval '1 second'
      from api_clients c, generate_series(1, ${rows}) g`)
    await sql.unsafe('vacuum analyze')
    const m = await measure(service.url, '/deliveries', { authorization: 'Bearer bench-list-key' }, Math.round(rows * 0.9), durationMs)
    return { rows, ...m }
  } finally {
    await service.stop()
    await sql.end()
    await target.drop()
  }
}
