import { createHash } from 'node:crypto'
import { and, asc, eq, inArray, sql } from 'drizzle-orm'
import { HttpProblem, conflict, notFound, unprocessable } from '@logistics/shared'
import type { DbOrTx, EcommerceDb, Tx } from '../../context'
import { idempotencyKeys, orderEvents, orderItems, orders, products, purchases, sellers, users } from '../../db/schema'
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

/**
 * One purchase, one transaction: every line's stock is taken with a guarded update; if any line
 * is short, nothing changes (409 `insufficient-stock` naming each short product). One order per
 * seller, with snapshots of the product, the customer's address and the seller's warehouse.
 * With an idempotency key, a retry returns the first answer instead of buying twice.
 */
export async function purchase(
  db: EcommerceDb,
  customer: CurrentUser,
  input: PurchaseRequest,
  idempotencyKey?: string,
): Promise<PurchaseResult> {
  const lines = mergeLines(input.items)
  const hash = requestHash(lines)
  return db.transaction(async (tx) => {
    if (idempotencyKey !== undefined) {
      // A concurrent request with the same key waits here until the first one commits or rolls back.
      const [claimed] = await tx
        .insert(idempotencyKeys)
        .values({ customerId: customer.id, key: idempotencyKey, requestHash: hash, statusCode: 0, response: {} })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key })
      if (!claimed) {
        const [stored] = await tx
          .select()
          .from(idempotencyKeys)
          .where(and(eq(idempotencyKeys.customerId, customer.id), eq(idempotencyKeys.key, idempotencyKey)))
        if (!stored) throw new HttpProblem(409, 'idempotency-key-in-use', 'A request with this Idempotency-Key is in progress; retry')
        if (stored.requestHash !== hash)
          throw conflict('idempotency-key-reused', 'This Idempotency-Key was used for a different purchase')
        return { status: 201, body: stored.response as PurchaseJson, replayed: true }
      }
    }
    const body = await buy(tx, customer, lines)
    if (idempotencyKey !== undefined)
      await tx
        .update(idempotencyKeys)
        .set({ statusCode: 201, response: body })
        .where(and(eq(idempotencyKeys.customerId, customer.id), eq(idempotencyKeys.key, idempotencyKey)))
    return { status: 201, body, replayed: false }
  })
}

async function buy(tx: Tx, customer: CurrentUser, lines: Line[]): Promise<PurchaseJson> {
  const ids = lines.map((l) => l.productId)
  const found = await tx
    .select({ product: products, warehouseAddress: sellers.warehouseAddress, sellerDeleted: sellers.deletedAt })
    .from(products)
    .innerJoin(sellers, eq(sellers.id, products.sellerId))
    .where(inArray(products.id, ids))
  const byId = new Map(found.map((f) => [f.product.id, f]))
  const unknown = lines.filter((l) => {
    const f = byId.get(l.productId)
    return !f || f.product.deletedAt !== null || f.sellerDeleted !== null || !f.warehouseAddress
  })
  if (unknown.length > 0)
    throw unprocessable(
      unknown.map((l) => ({ path: 'items', message: `product ${l.productId} is not in the catalogue` })),
      `Unknown products: ${unknown.map((l) => l.productId).join(', ')}`,
    )

  const [buyer] = await tx
    .select({ name: users.name, shippingAddress: users.shippingAddress })
    .from(users)
    .where(eq(users.id, customer.id))
  if (!buyer) throw notFound('No such customer')
  if (!buyer.shippingAddress)
    throw unprocessable([{ path: 'shipping_address', message: 'the customer has no shipping address' }], 'No shipping address')

  // The rows first, the stock last: the product rows stay locked only from the stock update to
  // the commit, so buyers of the same hot products wait on each other as briefly as possible.
  const [purchaseRow] = await tx.insert(purchases).values({ customerId: customer.id }).returning()
  const bySeller = Map.groupBy(lines, (line) => byId.get(line.productId)!.product.sellerId)
  const sellerIds = [...bySeller.keys()].sort()
  const created = await tx
    .insert(orders)
    .values(
      sellerIds.map((sellerId) => ({
        purchaseId: purchaseRow!.id,
        sellerId,
        customerId: customer.id,
        status: 'created' as const,
        deliveryName: buyer.name,
        deliveryAddress: buyer.shippingAddress!,
        originAddress: byId.get(bySeller.get(sellerId)![0]!.productId)!.warehouseAddress!,
      })),
    )
    .returning()
  const orderOf = new Map(created.map((o) => [o.sellerId, o]))
  const items = lines.map((line) => {
    const p = byId.get(line.productId)!.product
    return { orderId: orderOf.get(p.sellerId)!.id, productId: p.id, sku: p.sku, name: p.name, quantity: line.quantity }
  })
  await tx.insert(orderItems).values(items)
  await tx.insert(orderEvents).values(created.map((o) => ({ orderId: o.id, status: 'created' as const, actorId: customer.id })))

  // Guarded stock updates in product id order (consistent lock order: no deadlocks). Any short
  // line rolls the whole transaction back.
  const short: { product_id: string; requested: number; available: number }[] = []
  for (const line of lines) {
    const [taken] = await tx
      .update(products)
      .set({ quantity: sql`${products.quantity} - ${line.quantity}`, updatedAt: new Date() })
      .where(and(eq(products.id, line.productId), sql`${products.quantity} >= ${line.quantity}`, sql`${products.deletedAt} is null`))
      .returning({ id: products.id })
    if (!taken) {
      const [now] = await tx.select({ quantity: products.quantity }).from(products).where(eq(products.id, line.productId))
      short.push({ product_id: line.productId, requested: line.quantity, available: now?.quantity ?? 0 })
    }
  }
  if (short.length > 0)
    throw conflict(
      'insufficient-stock',
      `Not enough stock for ${short.map((s) => `${s.product_id} (requested ${s.requested}, available ${s.available})`).join(', ')}; nothing was bought`,
      { products: short },
    )

  const sortedItems = [...items].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))
  return {
    id: purchaseRow!.id,
    customer_id: customer.id,
    orders: created.sort((a, b) => (a.sellerId < b.sellerId ? -1 : 1)).map((o) => toOrderJson(o, sortedItems)),
    created_at: iso(purchaseRow!.createdAt),
  }
}

/** A purchase with its orders: its customer and admins see it; anyone else gets 404. */
export async function getPurchase(db: DbOrTx, user: CurrentUser, id: string): Promise<PurchaseJson> {
  const [row] = await db.select().from(purchases).where(eq(purchases.id, id))
  if (!row || (user.role !== 'admin' && row.customerId !== user.id)) throw notFound('No such purchase')
  const rows = await db.select().from(orders).where(eq(orders.purchaseId, id)).orderBy(asc(orders.sellerId))
  return { id: row.id, customer_id: row.customerId, orders: await withItems(db, rows), created_at: iso(row.createdAt) }
}
