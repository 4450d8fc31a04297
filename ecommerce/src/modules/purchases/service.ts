import { createHash } from 'node:crypto'
import { conflict, HttpProblem, notFound, unprocessable } from '@logistics/shared'
import { pgErrorCode, pgErrorDetail, queryRows } from '@logistics/shared/db'
import { and, asc, eq, lt, sql } from 'drizzle-orm'
import type { DbOrTx, EcommerceDb } from '../../context'
import { idempotencyKeys, orders, purchases } from '../../db/schema'
import type { CurrentUser } from '../auth/model'
import { iso } from '../common'
import { type OrderView, toOrderJson, withItems } from '../orders/service'
import type { PurchaseJson, PurchaseRequest } from './model'

type Line = { productId: string; quantity: number }

/** Duplicate product lines merged, sorted by product id (the order rows are locked in). */
function mergeLines(items: PurchaseRequest['items']): Line[] {
  const merged = new Map<string, number>()
  for (const i of items) merged.set(i.product_id.toLowerCase(), (merged.get(i.product_id.toLowerCase()) ?? 0) + i.quantity)
  return [...merged.entries()]
    .map(([productId, quantity]) => ({ productId, quantity }))
    .sort((a, b) => (a.productId < b.productId ? -1 : 1))
}

const requestHash = (lines: Line[]) => createHash('sha256').update(JSON.stringify(lines)).digest('hex')

export type PurchaseResult = { status: 201; body: PurchaseJson; replayed: boolean }

/** How long an `Idempotency-Key` is remembered; an older key counts as new. */
const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000

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
      if (stored.requestHash !== hash) throw conflict('idempotency-key-reused', 'This Idempotency-Key was used for a different purchase')
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

/** What `place_purchase` answers (see its migration, 0002_place_purchase_function.sql). */
type Placed =
  | { unknown: string[] }
  | { no_address: true }
  | {
      purchase: { id: string; created_at: string }
      orders: Record<string, string | null>[]
      lines: { product_id: string; quantity: number; sku: string; name: string; seller_id: string }[]
    }

/** SQLSTATE of `place_purchase` when a line is short; DETAIL lists the short lines as JSON. */
const INSUFFICIENT_STOCK = 'LS409'

/**
 * The purchase in ONE round trip: the `place_purchase` SQL function checks the catalogue and the
 * address, inserts the purchase, one order per seller with its snapshots, the items and the
 * history, and takes the stock last, in product id order. The hot product rows are thus locked
 * only from its stock updates to the commit, with no network round trip in between (without an
 * idempotency key the call is its own transaction). Any short line rolls everything back.
 */
async function buy(db: DbOrTx, customer: CurrentUser, lines: Line[]): Promise<PurchaseJson> {
  const wanted = JSON.stringify(lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })))
  let placed: Placed
  try {
    const [row] = await queryRows<{ placed: Placed | string }>(db, sql`select place_purchase(${customer.id}, ${wanted}::jsonb) as placed`)
    placed = (typeof row!.placed === 'string' ? JSON.parse(row!.placed) : row!.placed) as Placed
  } catch (error) {
    if (pgErrorCode(error) !== INSUFFICIENT_STOCK) throw error
    const short = JSON.parse(pgErrorDetail(error) ?? '[]') as { product_id: string; sku: string; requested: number; available: number }[]
    throw conflict(
      'insufficient-stock',
      `Not enough stock for ${short.map((s) => `${s.sku} (requested ${s.requested}, available ${s.available})`).join(', ')}; nothing was bought`,
      { products: short },
    )
  }
  if ('unknown' in placed)
    throw unprocessable(
      placed.unknown.map((id) => ({ path: 'items', message: `product ${id} is not in the catalogue` })),
      `Unknown products: ${placed.unknown.join(', ')}`,
    )
  if ('no_address' in placed)
    throw unprocessable([{ path: 'shipping_address', message: 'the customer has no shipping address' }], 'No shipping address')

  const created = placed.orders.map(orderRow)
  const orderOf = new Map(created.map((o) => [o.sellerId, o.id]))
  const items = placed.lines
    .map((l) => ({ orderId: orderOf.get(l.seller_id)!, productId: l.product_id, sku: l.sku, name: l.name, quantity: l.quantity }))
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))
  return {
    id: placed.purchase.id,
    customer_id: customer.id,
    orders: created.map((o) => toOrderJson(o, items)),
    created_at: iso(new Date(placed.purchase.created_at)),
  }
}

/** An orders row as `to_jsonb` wrote it, as drizzle would have read it. */
function orderRow(o: Record<string, string | null>): OrderView {
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
    trackingUrl: o.tracking_url ?? null,
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
