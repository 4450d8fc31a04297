import { and, asc, eq, inArray, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import {
  type CreateDeliveryInput,
  HttpProblem,
  type ListEnvelope,
  type Logger,
  type OrderStatus,
  type Pagination,
  conflict,
  forbidden,
  notFound,
} from '@logistics/shared'
import { paginate } from '@logistics/shared/pagination'
import type { DbOrTx, EcommerceDb, Tx } from '../../context'
import { orderEvents, orderItems, orders, products } from '../../db/schema'
import type { CurrentUser } from '../auth/model'
import { iso } from '../common'
import type { CallOptions, DeliveryClient } from '../delivery-client/service'
import type { OrderJson } from './model'

type OrderRow = typeof orders.$inferSelect
type ItemRow = typeof orderItems.$inferSelect

export function toOrderJson(o: OrderRow, items: ItemRow[]): OrderJson {
  return {
    id: o.id,
    purchase_id: o.purchaseId,
    seller_id: o.sellerId,
    customer_id: o.customerId,
    status: o.status,
    items: items
      .filter((i) => i.orderId === o.id)
      .map((i) => ({ product_id: i.productId, sku: i.sku, name: i.name, quantity: i.quantity })),
    delivery: {
      name: o.deliveryName,
      address: o.deliveryAddress,
      origin_address: o.originAddress,
      tracking_number: o.trackingNumber,
      status: o.deliveryStatus,
    },
    created_at: iso(o.createdAt),
    updated_at: iso(o.updatedAt),
  }
}

/** The JSON of orders, with their items loaded in one query. */
export async function withItems(db: DbOrTx, rows: OrderRow[]): Promise<OrderJson[]> {
  if (rows.length === 0) return []
  const items = await db
    .select()
    .from(orderItems)
    .where(
      inArray(
        orderItems.orderId,
        rows.map((r) => r.id),
      ),
    )
    .orderBy(asc(orderItems.sku))
  return rows.map((r) => toOrderJson(r, items))
}

/** What `user` may see: admins everything, seller users their seller's orders, customers their own. */
function visibleTo(user: CurrentUser): SQL | undefined {
  if (user.role === 'admin') return undefined
  if (user.role === 'seller') return eq(orders.sellerId, user.sellerId!)
  return eq(orders.customerId, user.id)
}

export async function listOrders(
  db: DbOrTx,
  user: CurrentUser,
  query: Pagination & { status?: OrderStatus },
): Promise<ListEnvelope<OrderJson>> {
  const where = and(visibleTo(user), query.status ? eq(orders.status, query.status) : undefined)
  const { rows, meta } = await paginate(db, {
    page: query,
    keyset: { columns: [orders.createdAt, orders.id], direction: 'desc' },
    where,
    rows: (q) => db.select({ order: orders, key: q.key }).from(orders).where(q.where).orderBy(...q.orderBy).limit(q.limit).offset(q.offset),
    counted: (w) => db.select({ id: orders.id }).from(orders).where(w).$dynamic(),
  })
  return { data: await withItems(db, rows.map((r) => r.order)), ...meta }
}

/** The order when `user` may see it; 404 otherwise (never another's data). */
export async function getVisibleOrder(db: DbOrTx, user: CurrentUser, id: string): Promise<OrderRow> {
  const [row] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.id, id), visibleTo(user)))
  if (!row) throw notFound('No such order')
  return row
}

export async function getOrder(db: DbOrTx, user: CurrentUser, id: string): Promise<OrderJson> {
  const [json] = await withItems(db, [await getVisibleOrder(db, user, id)])
  return json!
}

export async function getOrderHistory(db: DbOrTx, user: CurrentUser, id: string) {
  await getVisibleOrder(db, user, id)
  const rows = await db.select().from(orderEvents).where(eq(orderEvents.orderId, id)).orderBy(asc(orderEvents.id))
  return { data: rows.map((r) => ({ status: r.status, created_at: iso(r.createdAt) })) }
}

export const invalidTransition = (current: OrderStatus, wanted: string) =>
  conflict('invalid-transition', `The order is ${current}; it cannot be ${wanted}`, { current_status: current })

/**
 * A guarded status change: `UPDATE … WHERE id = ? AND status IN (<from>)`, so two concurrent
 * requests cannot both move an order. Appends the history row in the same transaction.
 */
export async function transition(
  tx: Tx,
  id: string,
  from: OrderStatus[],
  to: OrderStatus,
  wanted: string,
  options: { actorId?: string; set?: Partial<typeof orders.$inferInsert> } = {},
): Promise<OrderRow> {
  const [row] = await tx
    .update(orders)
    .set({ ...options.set, status: to, updatedAt: new Date() })
    .where(and(eq(orders.id, id), inArray(orders.status, from)))
    .returning()
  if (!row) {
    const [current] = await tx.select({ status: orders.status }).from(orders).where(eq(orders.id, id))
    if (!current) throw notFound('No such order')
    throw invalidTransition(current.status, wanted)
  }
  await tx.insert(orderEvents).values({ orderId: id, status: row.status, actorId: options.actorId ?? null })
  return row
}

export async function confirmOrder(db: EcommerceDb, user: CurrentUser, id: string): Promise<OrderJson> {
  if (user.role !== 'seller') throw forbidden('Only seller users confirm orders')
  await getVisibleOrder(db, user, id)
  const row = await db.transaction((tx) => transition(tx, id, ['created'], 'confirmed', 'confirmed', { actorId: user.id }))
  return (await withItems(db, [row]))[0]!
}

/** Who may cancel: the customer its own order while created; an admin while created or confirmed. */
export async function cancelOrder(db: EcommerceDb, user: CurrentUser, id: string): Promise<OrderJson> {
  if (user.role === 'seller') throw forbidden('Seller users cannot cancel orders')
  await getVisibleOrder(db, user, id)
  const from: OrderStatus[] = user.role === 'admin' ? ['created', 'confirmed'] : ['created']
  const row = await db.transaction(async (tx) => {
    const order = await transition(tx, id, from, 'cancelled', 'cancelled', { actorId: user.id })
    const items = await tx.select().from(orderItems).where(eq(orderItems.orderId, id)).orderBy(asc(orderItems.productId))
    // Rows in id order, like purchases take them, so the two never deadlock.
    for (const item of items)
      await tx
        .update(products)
        .set({ quantity: sql`${products.quantity} + ${item.quantity}`, updatedAt: new Date() })
        .where(eq(products.id, item.productId))
    return order
  })
  return (await withItems(db, [row]))[0]!
}

/**
 * Creates the delivery first (idempotent on the order id, so a retry is safe), and only then marks
 * the order dispatched with its tracking number. A failing delivery service changes nothing.
 */
export async function dispatchOrder(
  db: EcommerceDb,
  client: DeliveryClient,
  user: CurrentUser,
  id: string,
  callOptions: CallOptions = {},
  logger?: Logger,
): Promise<OrderJson> {
  if (user.role !== 'seller') throw forbidden('Only seller users dispatch orders')
  const order = await getVisibleOrder(db, user, id)
  if (order.status !== 'confirmed') throw invalidTransition(order.status, 'dispatched')
  const items = await db.select().from(orderItems).where(eq(orderItems.orderId, id)).orderBy(asc(orderItems.sku))
  const request: CreateDeliveryInput = {
    order: { foreign_order_id: order.id, products: items.map((i) => ({ sku: i.sku, name: i.name, qty: i.quantity })) },
    origin: { address: order.originAddress },
    destination: { name: order.deliveryName, address: order.deliveryAddress },
  }
  const delivery = await client.createDelivery(request, callOptions)
  const row = await db
    .transaction(async (tx) => {
    const dispatched = await transition(tx, id, ['confirmed'], 'dispatched', 'dispatched', {
      actorId: user.id,
      set: {
        trackingNumber: delivery.tracking_number,
        // A webhook may have told us a newer status already.
        deliveryStatus: sql`coalesce(${orders.deliveryStatus}, ${delivery.status})` as never,
      },
    })
    // The DELIVERED webhook raced ahead of this answer: the order is delivered already.
    if (dispatched.deliveryStatus === 'DELIVERED') return transition(tx, id, ['dispatched'], 'delivered', 'delivered')
    return dispatched
    })
    .catch(async (error) => {
      // The order moved on while the delivery was being created (an admin cancelled it): the
      // parcel must not ship, so the delivery goes too (best effort; logged when it fails).
      if (error instanceof HttpProblem && error.status === 409)
        await client.deleteDelivery(delivery.tracking_number, callOptions).catch((e) => {
          logger?.error('could not delete the delivery of an order that changed during dispatch', {
            order_id: id,
            tracking_number: delivery.tracking_number,
            error: e instanceof Error ? e.message : String(e),
          })
        })
      throw error
    })
  return (await withItems(db, [row]))[0]!
}

export async function getOrderTracking(db: DbOrTx, client: DeliveryClient, user: CurrentUser, id: string, callOptions: CallOptions = {}) {
  const order = await getVisibleOrder(db, user, id)
  if (!order.trackingNumber)
    throw conflict('not-dispatched', `The order is ${order.status} and has no delivery yet`, { current_status: order.status })
  return client.getTracking(order.trackingNumber, callOptions)
}
