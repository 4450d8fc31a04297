import { createHash } from 'node:crypto'
import { and, asc, eq, lt, sql } from 'drizzle-orm'
import { HttpProblem, conflict, notFound, unprocessable } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import type { DbOrTx, EcommerceDb } from '../../context'
import { idempotencyKeys, orders, purchases } from '../../db/schema'
import type { CurrentUser } from '../auth/model'
import { iso } from '../common'
import { toOrderJson, withItems } from '../orders/service'
import type { PurchaseJson, PurchaseRequest } from './model'

type Line = { productId: string; quantity: number }

/** Duplicate product lines merged, sorted by product id (the order rows are locked in). */
export function mergeLines(items: PurchaseRequest['items']): Line[] {
  const merged = new Map<string, number>()
  for (const i of items) merged.set(i.product_id.toLowerCase(), (merged.get(i.product_id.toLowerCase()) ?? 0) + i.quantity)
  return [...merged.entries()].map(([productId, quantity]) => ({ productId, quantity })).sort((a, b) => (a.productId < b.productId ? -1 : 1))
}

const requestHash = (lines: Line[]) => createHash('sha256').update(JSON.stringify(lines)).digest('hex')

export type PurchaseResult = { status: 201; body: PurchaseJson; replayed: boolean }

/** How long an `Idempotency-Key` is remembered; an older key counts as new. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000

/**
 * One purchase, all or nothing: if any line is short, nothing changes (409 `insufficient-stock`
 * naming each short product by sku and id). One order per seller, with snapshots of the product,
 * the customer's address and the seller's warehouse. Without an idempotency key the purchase is
 * ONE statement (see `buy`). With a key, the key is claimed in the same transaction, so a retry
 * returns the first answer instead of buying twice; a key older than 24 h is treated as new.
 */
export async function purchase(
  db: EcommerceDb,
  customer: CurrentUser,
  input: PurchaseRequest,
  idempotencyKey?: string,
  options: { now?: Date } = {},
): Promise<PurchaseResult> {
  const lines = mergeLines(input.items)
  if (idempotencyKey === undefined) return { status: 201, body: await buy(db, customer, lines), replayed: false }
  const hash = requestHash(lines)
  const now = options.now ?? new Date()
  const expired = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS)
  const thisKey = and(eq(idempotencyKeys.customerId, customer.id), eq(idempotencyKeys.key, idempotencyKey))
  return db.transaction(async (tx) => {
    // A concurrent request with the same key waits here until the first one commits or rolls back.
    // An expired key is claimed again, as if new.
    const [claimed] = await tx
      .insert(idempotencyKeys)
      .values({ customerId: customer.id, key: idempotencyKey, requestHash: hash, statusCode: 0, response: {}, createdAt: now })
      .onConflictDoUpdate({
        target: [idempotencyKeys.customerId, idempotencyKeys.key],
        set: { requestHash: hash, statusCode: 0, response: {}, createdAt: now },
        setWhere: lt(idempotencyKeys.createdAt, expired),
      })
      .returning({ key: idempotencyKeys.key })
    if (!claimed) {
      const [stored] = await tx.select().from(idempotencyKeys).where(thisKey)
      if (!stored) throw new HttpProblem(409, 'idempotency-key-in-use', 'A request with this Idempotency-Key is in progress; retry')
      if (stored.requestHash !== hash)
        throw conflict('idempotency-key-reused', 'This Idempotency-Key was used for a different purchase')
      return { status: 201, body: stored.response as PurchaseJson, replayed: true }
    }
    const body = await buy(tx, customer, lines)
    await tx.update(idempotencyKeys).set({ statusCode: 201, response: body }).where(thisKey)
    return { status: 201, body, replayed: false }
  })
}

/** Forgets the idempotency keys older than 24 h (the periodic clean-up; by the created_at index). */
export async function deleteExpiredIdempotencyKeys(db: DbOrTx, now = new Date()): Promise<number> {
  const rows = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS)))
    .returning({ key: idempotencyKeys.key })
  return rows.length
}

type Outcome = {
  /** Every line, with what the catalogue says of its product (`available` null: not in the catalogue). */
  lines: { product_id: string; requested: number; available: number | null; sku: string | null; name: string | null; seller_id: string | null }[]
  has_address: boolean
  /** Null unless the purchase was made. */
  purchase: { id: string; created_at: string } | null
  orders: Record<string, string | null>[] | null
  taken: number
}

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T

/**
 * The purchase as ONE statement: the hot product rows are locked (in id order: no deadlocks)
 * from the moment this statement reaches them until its commit, with no round trip in between.
 * It locks the lines' products, checks the verdict (every product in the catalogue, enough of
 * each, a shipping address), and only when the verdict is yes inserts the purchase, one order per
 * seller with its snapshots, the items and the history, and takes the stock. `FOR NO KEY UPDATE`:
 * the foreign-key checks of other purchases' items (`FOR KEY SHARE`) do not wait on it.
 * On a no, nothing was written: the answer tells which lines are unknown or short.
 */
function purchaseStatement(customerId: string, lines: Line[]) {
  const wanted = JSON.stringify(lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })))
  return sql`
    with wanted as (
      select * from jsonb_to_recordset(${wanted}::jsonb) as w(product_id uuid, quantity integer)
    ),
    buyer as (
      select name, shipping_address from users where id = ${customerId} and shipping_address is not null
    ),
    locked as (
      select p.id, p.seller_id, p.sku, p.name, p.quantity, s.warehouse_address
      from products p join sellers s on s.id = p.seller_id
      where p.id in (select product_id from wanted)
        and p.deleted_at is null and s.deleted_at is null and s.warehouse_address is not null
      order by p.id
      for no key update of p
    ),
    verdict as (
      select exists (select 1 from buyer)
        and (select count(*) from locked) = (select count(*) from wanted)
        and not exists (select 1 from locked l join wanted w on w.product_id = l.id where l.quantity < w.quantity) as ok
    ),
    new_purchase as (
      insert into purchases (customer_id) select ${customerId} from verdict where ok
      returning id, created_at
    ),
    new_orders as (
      insert into orders (purchase_id, seller_id, customer_id, status, delivery_name, delivery_address, origin_address)
      select np.id, s.seller_id, ${customerId}, 'created', b.name, b.shipping_address, s.warehouse_address
      from new_purchase np cross join buyer b cross join (select distinct seller_id, warehouse_address from locked) s
      returning *
    ),
    new_items as (
      insert into order_items (order_id, product_id, sku, name, quantity)
      select o.id, l.id, l.sku, l.name, w.quantity
      from new_orders o join locked l on l.seller_id = o.seller_id join wanted w on w.product_id = l.id
    ),
    new_events as (
      insert into order_events (order_id, status, actor_id) select id, 'created', ${customerId} from new_orders
    ),
    taken as (
      update products p set quantity = p.quantity - w.quantity, updated_at = now()
      from wanted w, verdict v
      where p.id = w.product_id and v.ok
      returning p.id
    )
    select
      (select json_agg(json_build_object('product_id', w.product_id, 'requested', w.quantity, 'available', l.quantity,
                                         'sku', l.sku, 'name', l.name, 'seller_id', l.seller_id))
         from wanted w left join locked l on l.id = w.product_id) as lines,
      exists (select 1 from buyer) as has_address,
      (select row_to_json(np) from new_purchase np) as purchase,
      (select json_agg(o) from new_orders o) as orders,
      (select count(*) from taken)::int as taken`
}

async function buy(db: DbOrTx, customer: CurrentUser, lines: Line[]): Promise<PurchaseJson> {
  const [row] = await queryRows<Outcome>(db, purchaseStatement(customer.id, lines))
  const outcome = { ...row!, lines: json<Outcome['lines']>(row!.lines), purchase: json<Outcome['purchase']>(row!.purchase), orders: json<Outcome['orders']>(row!.orders) }

  const unknown = outcome.lines.filter((l) => l.available === null)
  if (unknown.length > 0)
    throw unprocessable(
      unknown.map((l) => ({ path: 'items', message: `product ${l.product_id} is not in the catalogue` })),
      `Unknown products: ${unknown.map((l) => l.product_id).join(', ')}`,
    )
  if (!outcome.has_address)
    throw unprocessable([{ path: 'shipping_address', message: 'the customer has no shipping address' }], 'No shipping address')
  const short = outcome.lines
    .filter((l) => l.available! < l.requested)
    .map((l) => ({ product_id: l.product_id, sku: l.sku!, requested: l.requested, available: l.available! }))
  if (short.length > 0)
    throw conflict(
      'insufficient-stock',
      `Not enough stock for ${short.map((s) => `${s.sku} (requested ${s.requested}, available ${s.available})`).join(', ')}; nothing was bought`,
      { products: short },
    )
  if (!outcome.purchase || !outcome.orders || outcome.taken !== lines.length)
    throw new Error(`purchase statement made no purchase (taken ${outcome.taken} of ${lines.length} lines)`)

  const created = outcome.orders.map(orderRow).sort((a, b) => (a.sellerId < b.sellerId ? -1 : 1))
  const orderOf = new Map(created.map((o) => [o.sellerId, o.id]))
  const items = outcome.lines
    .map((l) => ({ orderId: orderOf.get(l.seller_id!)!, productId: l.product_id, sku: l.sku!, name: l.name!, quantity: l.requested }))
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))
  return {
    id: outcome.purchase.id,
    customer_id: customer.id,
    orders: created.map((o) => toOrderJson(o, items)),
    created_at: iso(new Date(outcome.purchase.created_at)),
  }
}

/** An orders row as `row_to_json` wrote it, as drizzle would have read it. */
function orderRow(o: Record<string, string | null>): typeof orders.$inferSelect {
  return {
    id: o.id!,
    purchaseId: o.purchase_id!,
    sellerId: o.seller_id!,
    customerId: o.customer_id!,
    status: o.status as typeof orders.$inferSelect.status,
    deliveryName: o.delivery_name!,
    deliveryAddress: o.delivery_address!,
    originAddress: o.origin_address!,
    trackingNumber: o.tracking_number ?? null,
    deliveryStatus: (o.delivery_status ?? null) as typeof orders.$inferSelect.deliveryStatus,
    deliveryStatusAt: o.delivery_status_at ? new Date(o.delivery_status_at) : null,
    createdAt: new Date(o.created_at!),
    updatedAt: new Date(o.updated_at!),
  }
}

/** A purchase with its orders: its customer and admins see it; anyone else gets 404. */
export async function getPurchase(db: DbOrTx, user: CurrentUser, id: string): Promise<PurchaseJson> {
  const [row] = await db.select().from(purchases).where(eq(purchases.id, id))
  if (!row || (user.role !== 'admin' && row.customerId !== user.id)) throw notFound('No such purchase')
  const rows = await db.select().from(orders).where(eq(orders.purchaseId, id)).orderBy(asc(orders.sellerId))
  return { id: row.id, customer_id: row.customerId, orders: await withItems(db, rows), created_at: iso(row.createdAt) }
}
