import {
  conflict,
  forbidden,
  HttpProblem,
  type ListEnvelope,
  type Logger,
  notFound,
  type OrderStatus,
  type Pagination,
} from '@logistics/shared'
import { paginateTable } from '@logistics/shared/pagination'
import type { SQL } from 'drizzle-orm'
import { and, asc, eq, inArray, sql } from 'drizzle-orm'
import type { DbOrTx, EcommerceDb, Tx } from '../../context'
import { orderEvents, orderItems, orders } from '../../db/schema'
import type { CurrentUser } from '../auth/model'
import { iso } from '../common'
import type { CallOptions, DeliveryClient } from '../delivery-client/service'
import type { OrderJson } from './model'

export type OrderRow = typeof orders.$inferSelect
type ItemRow = typeof orderItems.$inferSelect

/** The columns an order's JSON shows (not the internal dispatch and cancel bookkeeping). */
export type OrderView = Pick<
  OrderRow,
  | 'id'
  | 'purchaseId'
  | 'sellerId'
  | 'customerId'
  | 'status'
  | 'deliveryName'
  | 'deliveryAddress'
  | 'originAddress'
  | 'trackingNumber'
  | 'trackingUrl'
  | 'deliveryStatus'
  | 'deliveryStatusAt'
  | 'createdAt'
  | 'updatedAt'
>

export function toOrderJson(o: OrderView, items: ItemRow[]): OrderJson {
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
      tracking_url: o.trackingUrl,
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
  const { rows, meta } = await paginateTable(db, orders, {
    page: query,
    keyset: { columns: [orders.createdAt, orders.id], direction: 'desc' },
    where,
  })
  return { data: await withItems(db, rows), ...meta }
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
  options: { actorId?: string; set?: Partial<typeof orders.$inferInsert>; where?: SQL } = {},
): Promise<OrderRow> {
  const [row] = await tx
    .update(orders)
    .set({ ...options.set, status: to, updatedAt: new Date() })
    .where(and(eq(orders.id, id), inArray(orders.status, from), options.where))
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

/**
 * How long a dispatch may hold an order before it counts as gone (crashed): a create-delivery call
 * with its retries (three attempts at `timeoutMs`), plus a margin for the answer and the database.
 * After a call that timed out, the same time must pass before a cancel may decide the delivery is
 * not coming (the request may still be processed late).
 */
export const dispatchLeaseMs = (deliveryTimeoutMs: number) => 3 * deliveryTimeoutMs + 5_000

/** What a dispatch or a cancel needs besides the order: the delivery service and how to call it. */
export type DispatchOptions = {
  client: DeliveryClient
  /** Per call to the delivery service (the request id it logs too). */
  call?: CallOptions
  logger?: Logger
  /** See `dispatchLeaseMs`. */
  leaseMs?: number
  /** The clock (tests). */
  now?: () => Date
}

/** True while a dispatch call is in flight (its lease runs: a process that died stops counting then). */
export const dispatchInFlight = (now: Date) => sql`coalesce(${orders.dispatchLeaseUntil} > ${now.toISOString()}, false)`

/** True while a dispatch call is in flight or one that timed out may still create the delivery. */
export const dispatchBusy = (now: Date) =>
  sql`(${dispatchInFlight(now)} or coalesce(${orders.dispatchUnsettledUntil} > ${now.toISOString()}, false))`

const busyUntil = (o: OrderRow, now: Date): Date | undefined => {
  const times = [o.dispatchLeaseUntil, o.dispatchUnsettledUntil].filter((t): t is Date => t !== null && t > now)
  return times.length ? new Date(Math.max(...times.map((t) => t.getTime()))) : undefined
}

export const cancelBusy = (now: Date) => sql`coalesce(${orders.cancelLeaseUntil} > ${now.toISOString()}, false)`

const inProgress = (code: string, what: string, status: OrderStatus, until: Date, now: Date) => {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000))
  return new HttpProblem(409, code, `${what}; try again in ${seconds} s`, { current_status: status }, { 'retry-after': String(seconds) })
}

/** The reason a guarded claim or transition of an order in `expected` status did not apply. */
export async function whyNotClaimed(
  db: DbOrTx,
  id: string,
  expected: OrderStatus,
  wanted: string,
  now: Date,
  options: { ignoreDispatch?: boolean } = {},
): Promise<HttpProblem> {
  const [current] = await db.select().from(orders).where(eq(orders.id, id))
  if (!current) return notFound('No such order')
  if (current.status !== expected) return invalidTransition(current.status, wanted)
  const dispatching = options.ignoreDispatch ? undefined : busyUntil(current, now)
  if (dispatching) return inProgress('dispatch-in-progress', 'The order is being dispatched right now', current.status, dispatching, now)
  if (current.cancelLeaseUntil && current.cancelLeaseUntil > now)
    return inProgress('cancel-in-progress', 'The order is being cancelled right now', current.status, current.cancelLeaseUntil, now)
  return invalidTransition(current.status, wanted)
}

export async function getOrderTracking(db: DbOrTx, client: DeliveryClient, user: CurrentUser, id: string, callOptions: CallOptions = {}) {
  const order = await getVisibleOrder(db, user, id)
  if (!order.trackingNumber)
    throw conflict('not-dispatched', `The order is ${order.status} and has no delivery yet`, { current_status: order.status })
  return client.getTracking(order.trackingNumber, callOptions)
}
