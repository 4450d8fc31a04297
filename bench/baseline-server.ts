/**
 * The baselines: the same work as the ecommerce routes, by a bare Bun.serve handler with the
 * `postgres` driver's tagged templates and nothing else (no framework, no auth, no validation).
 *   GET  /products/:id  the catalogue's primary-key query
 *   POST /purchases     the purchase transaction, statement for statement (customer id in a header)
 *   POST /purchases-one-statement  the whole purchase as ONE statement (a CTE), no transaction block
 * DATABASE_URL and PORT from the environment; prints the port when it listens.
 */
import postgres from 'postgres'

const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} })

type Line = { product_id: string; quantity: number }

async function purchase(customerId: string, items: Line[]) {
  const lines = [...items].sort((a, b) => (a.product_id < b.product_id ? -1 : 1))
  return sql.begin(async (tx) => {
    const found = await tx`
      select p.*, s.warehouse_address, s.deleted_at as seller_deleted
      from products p join sellers s on s.id = p.seller_id
      where p.id in ${tx(lines.map((l) => l.product_id))}`
    const byId = new Map(found.map((f) => [f.id as string, f]))
    const [buyer] = await tx`select name, shipping_address from users where id = ${customerId}`
    const [p] = await tx`insert into purchases (customer_id) values (${customerId}) returning *`
    const bySeller = Map.groupBy(lines, (l) => byId.get(l.product_id)!.seller_id as string)
    const orders = []
    for (const [sellerId, sellerLines] of [...bySeller.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [order] = await tx`
        insert into orders (purchase_id, seller_id, customer_id, status, delivery_name, delivery_address, origin_address)
        values (${p!.id}, ${sellerId}, ${customerId}, 'created', ${buyer!.name}, ${buyer!.shipping_address},
                ${byId.get(sellerLines[0]!.product_id)!.warehouse_address})
        returning *`
      const items = sellerLines.map((l) => {
        const product = byId.get(l.product_id)!
        return { order_id: order!.id, product_id: l.product_id, sku: product.sku, name: product.name, quantity: l.quantity }
      })
      await tx`insert into order_items ${tx(items)}`
      await tx`insert into order_events (order_id, status, actor_id) values (${order!.id}, 'created', ${customerId})`
      orders.push({ ...order!, items })
    }
    // Stock last, as the service does: the hot rows stay locked only until the commit.
    for (const line of lines) {
      const taken = await tx`
        update products set quantity = quantity - ${line.quantity}, updated_at = now()
        where id = ${line.product_id} and quantity >= ${line.quantity} and deleted_at is null
        returning id`
      if (taken.length === 0) throw Object.assign(new Error('insufficient stock'), { status: 409 })
    }
    return { id: p!.id, customer_id: customerId, orders, created_at: p!.created_at }
  })
}

/**
 * The same purchase as ONE statement (autocommit: no BEGIN/COMMIT round trips), the stock taken
 * last: the inserts first (the update's InitPlan waits for them), then the lines' products are
 * locked in id order and their stock taken. A short line fails the statement (division by zero in
 * the final check), so nothing is kept: the bench never runs short.
 */
async function purchaseOneStatement(customerId: string, items: Line[]) {
  const wanted = JSON.stringify([...items].sort((a, b) => (a.product_id < b.product_id ? -1 : 1)))
  const [row] = await sql`
    with wanted as (
      select * from jsonb_to_recordset(${wanted}::text::jsonb) as w(product_id uuid, quantity integer)
    ),
    buyer as (select name, shipping_address from users where id = ${customerId}),
    catalogue as (
      select p.id, p.seller_id, p.sku, p.name, s.warehouse_address
      from products p join sellers s on s.id = p.seller_id
      where p.id in (select product_id from wanted)
    ),
    new_purchase as (insert into purchases (customer_id) values (${customerId}) returning id, created_at),
    new_orders as (
      insert into orders (purchase_id, seller_id, customer_id, status, delivery_name, delivery_address, origin_address)
      select np.id, c.seller_id, ${customerId}, 'created', b.name, b.shipping_address, c.warehouse_address
      from new_purchase np cross join buyer b cross join (select distinct seller_id, warehouse_address from catalogue) c
      returning *
    ),
    new_items as (
      insert into order_items (order_id, product_id, sku, name, quantity)
      select o.id, c.id, c.sku, c.name, w.quantity
      from new_orders o join catalogue c on c.seller_id = o.seller_id join wanted w on w.product_id = c.id
      returning *
    ),
    new_events as (
      insert into order_events (order_id, status, actor_id) select id, 'created', ${customerId} from new_orders returning id
    ),
    taken as (
      update products p set quantity = p.quantity - w.quantity, updated_at = now()
      from wanted w,
        (select id from products
          where id in (select product_id from wanted)
            and (select count(*) from new_items) + (select count(*) from new_events) > 0
          order by id for no key update) lk
      where p.id = w.product_id and p.id = lk.id and p.quantity >= w.quantity
      returning p.id
    )
    select (select row_to_json(np) from new_purchase np) as purchase,
           (select json_agg(o) from new_orders o) as orders,
           (select json_agg(i) from new_items i) as items,
           1 / ((select count(*) from taken) = (select count(*) from wanted))::int as all_taken`
  return { id: row!.purchase.id, customer_id: customerId, orders: row!.orders, items: row!.items, created_at: row!.purchase.created_at }
}

const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  async fetch(req) {
    const url = new URL(req.url)
    const product = url.pathname.match(/^\/products\/([0-9a-f-]{36})$/)
    if (req.method === 'GET' && product) {
      const [row] = await sql`
        select p.* from products p join sellers s on s.id = p.seller_id
        where p.id = ${product[1]!} and p.deleted_at is null and s.deleted_at is null`
      return row ? Response.json(row) : new Response(null, { status: 404 })
    }
    if (req.method === 'POST' && (url.pathname === '/purchases' || url.pathname === '/purchases-one-statement')) {
      try {
        const body = (await req.json()) as { items: Line[] }
        const buy = url.pathname === '/purchases' ? purchase : purchaseOneStatement
        return Response.json(await buy(req.headers.get('x-customer-id')!, body.items), { status: 201 })
      } catch (error) {
        return new Response(String(error), { status: (error as { status?: number }).status ?? 500 })
      }
    }
    return new Response(null, { status: 404 })
  },
})
console.log(server.port)
