import {
  type CreateDeliveryInput,
  conflict,
  forbidden,
  HttpProblem,
  type ListEnvelope,
  type Logger,
  notFound,
  type OrderStatus,
  type Pagination,
} from '@logistics/shared'
import { errorFields, isDatabaseUnavailable } from '@logistics/shared/db-errors'
import { paginateTable } from '@logistics/shared/pagination'
import type { SQL } from 'drizzle-orm'
import { and, asc, eq, inArray, isNull, not, sql } from 'drizzle-orm'
import type { DbOrTx, EcommerceDb, Tx } from '../../context'
import { orderEvents, orderItems, orders, products } from '../../db/schema'
import type { CurrentUser } from '../auth/model'
import { iso } from '../common'
import type { CallOptions, DeliveryClient } from '../delivery-client/service'
import type { OrderJson } from './model'

type OrderRow = typeof orders.$inferSelect
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
async function getVisibleOrder(db: DbOrTx, user: CurrentUser, id: string): Promise<OrderRow> {
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

const invalidTransition = (current: OrderStatus, wanted: string) =>
  conflict('invalid-transition', `The order is ${current}; it cannot be ${wanted}`, { current_status: current })

/**
 * A guarded status change: `UPDATE … WHERE id = ? AND status IN (<from>)`, so two concurrent
 * requests cannot both move an order. Appends the history row in the same transaction.
 */
async function transition(
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

/** True while a dispatch call is in flight or one that timed out may still create the delivery. */
const dispatchBusy = (now: Date) =>
  sql`(coalesce(${orders.dispatchLeaseUntil} > ${now.toISOString()}, false) or coalesce(${orders.dispatchUnsettledUntil} > ${now.toISOString()}, false))`

const busyUntil = (o: OrderRow, now: Date): Date | undefined => {
  const times = [o.dispatchLeaseUntil, o.dispatchUnsettledUntil].filter((t): t is Date => t !== null && t > now)
  return times.length ? new Date(Math.max(...times.map((t) => t.getTime()))) : undefined
}

const cancelBusy = (now: Date) => sql`coalesce(${orders.cancelLeaseUntil} > ${now.toISOString()}, false)`

const inProgress = (code: string, what: string, status: OrderStatus, until: Date, now: Date) => {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000))
  return new HttpProblem(409, code, `${what}; try again in ${seconds} s`, { current_status: status }, { 'retry-after': String(seconds) })
}

/**
 * Cancels an order and restores its stock. The customer cancels its own order while created, or
 * dispatched while its parcel is still READY_FOR_PICK_UP; an admin while created, confirmed, or
 * dispatched before pick-up. A delivered order is never cancelled.
 *
 * The delivery goes first: a dispatched order's delivery is withdrawn from the delivery service
 * (DELETE, which the delivery service decides atomically with its tick: 409 `already-picked-up`
 * once the parcel moved), and a confirmed order on which a dispatch was attempted has the delivery
 * that attempt may have left looked up (by order id) and withdrawn. For that time the order is
 * claimed (`cancel_lease_until`): no dispatch starts meanwhile (409 `cancel-in-progress`), and no
 * cancel starts while a dispatch is in flight or one timed out moments ago (409
 * `dispatch-in-progress`, both with Retry-After). Then the order is cancelled and its stock
 * restored in one transaction guarded on its status and on that claim. When the delivery service
 * fails (502/503/504) nothing changes here.
 */
export async function cancelOrder(db: EcommerceDb, user: CurrentUser, id: string, options: DispatchOptions): Promise<OrderJson> {
  const { client, call: callOptions = {} } = options
  if (user.role === 'seller') throw forbidden('Seller users cannot cancel orders')
  const order = await getVisibleOrder(db, user, id)
  const from: OrderStatus[] = user.role === 'admin' ? ['created', 'confirmed', 'dispatched'] : ['created', 'dispatched']
  if (!from.includes(order.status)) throw invalidTransition(order.status, 'cancelled')
  const clock = options.now ?? (() => new Date())
  const leaseMs = options.leaseMs ?? dispatchLeaseMs(5_000)
  if (order.status === 'dispatched' && order.deliveryStatus && order.deliveryStatus !== 'READY_FOR_PICK_UP')
    throw alreadyPickedUp(`The parcel was already picked up (it is ${order.deliveryStatus})`, { delivery_status: order.deliveryStatus })

  // A delivery may exist: a dispatched order's, or one an earlier dispatch attempt left behind.
  const withdraw = order.status === 'dispatched' || (order.status === 'confirmed' && order.dispatchAttemptedAt !== null)
  let lease: Date | undefined
  if (withdraw) {
    // Claim the order for the withdrawal: no dispatch in flight, none may start until we are done.
    const now = clock()
    lease = new Date(now.getTime() + leaseMs)
    const [claimed] = await db
      .update(orders)
      .set({ cancelLeaseUntil: lease })
      .where(and(eq(orders.id, id), eq(orders.status, order.status), not(dispatchBusy(now)), not(cancelBusy(now))))
      .returning({ id: orders.id })
    if (!claimed) throw await whyNotClaimed(db, id, order.status, 'cancelled', now)
    const claim = lease
    try {
      if (order.status === 'dispatched')
        await withdrawDelivery(client, order.trackingNumber!, callOptions).catch(async (error) => {
          // No answer in time: the DELETE may have been applied all the same. Look once more: a
          // delivery that is gone was withdrawn, and the cancel goes on; otherwise nothing changed.
          if (!(error instanceof HttpProblem && (error.status === 503 || error.status === 504))) throw error
          const still = await client.findDeliveryOfOrder(order.id, callOptions).catch(() => 'unknown' as const)
          if (still === 'unknown' || still?.tracking_number === order.trackingNumber) throw error
        })
      else {
        const dangling = await client.findDeliveryOfOrder(order.id, callOptions)
        if (dangling)
          await withdrawDelivery(client, dangling.tracking_number, callOptions, (picked) =>
            alreadyPickedUp(
              `An earlier dispatch of this order created delivery ${dangling.tracking_number}, and its parcel was already picked up; dispatch the order again to link it`,
              { ...picked.extensions, tracking_number: dangling.tracking_number },
            ),
          )
      }
    } catch (error) {
      // No answer in time (503/504): the DELETE may still land. Until that window is over the order
      // stays as it is; then `settleInterruptedCancels` looks at what happened and settles it.
      const unsure = order.status === 'dispatched' && error instanceof HttpProblem && (error.status === 503 || error.status === 504)
      await db
        .update(orders)
        .set({ cancelLeaseUntil: null, ...(unsure ? { cancelUnsettledUntil: new Date(clock().getTime() + leaseMs) } : {}) })
        .where(and(eq(orders.id, id), eq(orders.cancelLeaseUntil, claim)))
        .catch(() => {}) // the lease expires by itself, and an expired one is settled the same way
      throw error
    }
  }

  const now = clock()
  const row = await db.transaction((tx) =>
    cancelAndRestock(tx, id, order.status, {
      actorId: user.id,
      where: lease
        ? and(eq(orders.cancelLeaseUntil, lease), not(dispatchBusy(now)))
        : order.status === 'created'
          ? undefined
          : not(dispatchBusy(now)),
    }).catch(async (error) => {
      if (error instanceof HttpProblem && error.status === 409 && error.extensions.current_status === order.status)
        throw await whyNotClaimed(tx, id, order.status, 'cancelled', now)
      throw error
    }),
  )
  return (await withItems(db, [row]))[0]!
}

/**
 * The cancel's transaction: the guarded transition (the delivery, if any, is withdrawn: the order
 * no longer has one) and the stock given back, in product id order like purchases take the rows,
 * so the two never deadlock.
 */
async function cancelAndRestock(tx: Tx, id: string, from: OrderStatus, options: { actorId?: string; where?: SQL }) {
  const cancelled = await transition(tx, id, [from], 'cancelled', 'cancelled', {
    actorId: options.actorId,
    set: {
      trackingNumber: null,
      trackingUrl: null,
      deliveryStatus: null,
      deliveryStatusAt: null,
      cancelLeaseUntil: null,
      cancelUnsettledUntil: null,
    },
    where: options.where,
  })
  const items = await tx.select().from(orderItems).where(eq(orderItems.orderId, id)).orderBy(asc(orderItems.productId))
  for (const item of items)
    await tx
      .update(products)
      .set({ quantity: sql`${products.quantity} + ${item.quantity}`, updatedAt: new Date() })
      .where(eq(products.id, item.productId))
  return cancelled
}

export type SettledCancels = { cancelled: number; kept: number; unknown: number }

/**
 * Settles the cancels of dispatched orders that were interrupted once the withdrawal may have
 * happened: a DELETE whose answer never came (`cancel_unsettled_until`), or a process that died or
 * lost its database between the withdrawal and the cancel's transaction (its `cancel_lease_until`
 * left behind). Once that time is over and no cancel is running, the delivery service says what
 * happened: the order's delivery gone, the cancel completes (cancelled, stock back, no actor in its
 * history); still there, the order stays dispatched and only the bookkeeping is cleared. While the
 * delivery service does not answer, the order waits for the next round. Each write is guarded on
 * the bookkeeping read, so a cancel started meanwhile, or another replica, wins.
 */
export async function settleInterruptedCancels(
  db: EcommerceDb,
  client: DeliveryClient,
  options: { now?: Date; logger?: Logger; limit?: number } = {},
): Promise<SettledCancels> {
  const now = (options.now ?? new Date()).toISOString()
  const due = await db
    .select({
      id: orders.id,
      trackingNumber: orders.trackingNumber,
      lease: orders.cancelLeaseUntil,
      unsettled: orders.cancelUnsettledUntil,
    })
    .from(orders)
    .where(
      and(
        eq(orders.status, 'dispatched'),
        sql`(${orders.cancelLeaseUntil} is not null or ${orders.cancelUnsettledUntil} is not null)`,
        sql`coalesce(${orders.cancelLeaseUntil} <= ${now}, true) and coalesce(${orders.cancelUnsettledUntil} <= ${now}, true)`,
      ),
    )
    .limit(options.limit ?? 50)
  const settled: SettledCancels = { cancelled: 0, kept: 0, unknown: 0 }
  for (const o of due) {
    const unchanged = and(
      o.lease ? eq(orders.cancelLeaseUntil, o.lease) : isNull(orders.cancelLeaseUntil),
      o.unsettled ? eq(orders.cancelUnsettledUntil, o.unsettled) : isNull(orders.cancelUnsettledUntil),
    )
    const found = await client.findDeliveryOfOrder(o.id).catch(() => 'unknown' as const)
    if (found === 'unknown') {
      settled.unknown++
      continue
    }
    if (found) {
      if (found.tracking_number !== o.trackingNumber)
        options.logger?.warn('an interrupted cancel found another delivery for its order', {
          order_id: o.id,
          tracking_number: found.tracking_number,
        })
      await db
        .update(orders)
        .set({ cancelLeaseUntil: null, cancelUnsettledUntil: null })
        .where(and(eq(orders.id, o.id), eq(orders.status, 'dispatched'), unchanged))
      settled.kept++
      options.logger?.info('interrupted cancel settled: the delivery is still there, the order stays dispatched', { order_id: o.id })
      continue
    }
    const done = await db
      .transaction((tx) => cancelAndRestock(tx, o.id, 'dispatched', { where: unchanged }))
      .then(
        () => true,
        (error) => {
          if (error instanceof HttpProblem && error.status === 409) return false // changed meanwhile
          throw error
        },
      )
    if (done) {
      settled.cancelled++
      options.logger?.info('interrupted cancel settled: the delivery was withdrawn, the order is cancelled', { order_id: o.id })
    }
  }
  return settled
}

const alreadyPickedUp = (reason: string, extensions: Record<string, unknown> = {}) =>
  conflict('already-picked-up', `${reason}; the order can no longer be cancelled`, { current_status: 'dispatched', ...extensions })

/** DELETE on the delivery service; its 409 becomes our `already-picked-up` problem. */
async function withdrawDelivery(
  client: DeliveryClient,
  trackingNumber: string,
  callOptions: CallOptions,
  picked: (problem: HttpProblem) => HttpProblem = (p) =>
    alreadyPickedUp(p.message.replace(/: it can no longer be withdrawn$/, ''), p.extensions),
) {
  await client.deleteDelivery(trackingNumber, callOptions).catch((error) => {
    throw error instanceof HttpProblem && error.code === 'already-picked-up' ? picked(error) : error
  })
}

/** The reason a guarded claim or transition of an order in `expected` status did not apply. */
async function whyNotClaimed(
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

/**
 * Dispatches a confirmed order, safe under any interleaving of dispatches, cancels, retries and
 * timeouts:
 *  1. the order is claimed (`dispatch_attempted_at`, one more call in flight until the lease ends),
 *     only while confirmed: from then on a cancel waits (409 `dispatch-in-progress`);
 *  2. the delivery is created (idempotent on the order id: concurrent or repeated dispatches all
 *     get the same delivery, and a retry adopts the one an earlier timed-out attempt created);
 *  3. the order becomes dispatched with that tracking number, and the claim is released.
 * A dispatch that finds the order already dispatched with the same delivery answers it (200): a
 * double click never deletes the winner's delivery. When the call fails the order stays confirmed
 * (502/503/504); after a timeout the delivery may still appear, so cancels keep waiting for a lease.
 */
export async function dispatchOrder(db: EcommerceDb, user: CurrentUser, id: string, options: DispatchOptions): Promise<OrderJson> {
  const { client, call: callOptions = {}, logger } = options
  if (user.role !== 'seller') throw forbidden('Only seller users dispatch orders')
  const clock = options.now ?? (() => new Date())
  const leaseMs = options.leaseMs ?? dispatchLeaseMs(5_000)
  const order = await getVisibleOrder(db, user, id)
  if (order.status !== 'confirmed') throw invalidTransition(order.status, 'dispatched')
  const claimedAt = clock()
  const [claimed] = await db
    .update(orders)
    .set({
      dispatchAttemptedAt: sql`coalesce(${orders.dispatchAttemptedAt}, ${claimedAt.toISOString()})`,
      dispatchInflight: sql`case when coalesce(${orders.dispatchLeaseUntil} > ${claimedAt.toISOString()}, false) then ${orders.dispatchInflight} + 1 else 1 end`,
      dispatchLeaseUntil: new Date(claimedAt.getTime() + leaseMs),
    })
    // Dispatches share the claim (they all get the same delivery); a withdrawal in flight excludes it.
    .where(and(eq(orders.id, id), eq(orders.status, 'confirmed'), not(cancelBusy(claimedAt))))
    .returning({ id: orders.id })
  if (!claimed) throw await whyNotClaimed(db, id, 'confirmed', 'dispatched', claimedAt, { ignoreDispatch: true })

  /** Ends this call's claim; `unsettled` when the delivery may still be created later. */
  const release = (tx: DbOrTx, unsettled = false) =>
    tx
      .update(orders)
      .set({
        dispatchInflight: sql`greatest(${orders.dispatchInflight} - 1, 0)`,
        dispatchLeaseUntil: sql`case when ${orders.dispatchInflight} <= 1 then null else ${orders.dispatchLeaseUntil} end`,
        ...(unsettled
          ? {
              dispatchUnsettledUntil: sql`greatest(${orders.dispatchUnsettledUntil}, ${new Date(clock().getTime() + leaseMs).toISOString()}::timestamptz)`,
            }
          : {}),
      })
      .where(eq(orders.id, id))

  const items = await db.select().from(orderItems).where(eq(orderItems.orderId, id)).orderBy(asc(orderItems.sku))
  const request: CreateDeliveryInput = {
    order: { foreign_order_id: order.id, products: items.map((i) => ({ sku: i.sku, name: i.name, qty: i.quantity })) },
    origin: { address: order.originAddress },
    destination: { name: order.deliveryName, address: order.deliveryAddress },
  }
  let delivery: Awaited<ReturnType<DeliveryClient['createDelivery']>>
  try {
    delivery = await client.createDelivery(request, callOptions)
  } catch (error) {
    // An HTTP answer means the request was handled; a timeout or a dropped connection may not.
    const unsettled = !(error instanceof HttpProblem && error.status === 502)
    await release(db, unsettled).catch((e) => {
      // During a database outage this is expected (and the outage is logged once elsewhere): a warning.
      const fields = { order_id: id, error: errorFields(e) }
      if (isDatabaseUnavailable(e)) logger?.warn('could not release the dispatch claim (it expires by itself)', fields)
      else logger?.error('could not release the dispatch claim (it expires by itself)', fields)
    })
    throw error
  }
  const row = await db
    .transaction(async (tx) => {
      const dispatched = await transition(tx, id, ['confirmed'], 'dispatched', 'dispatched', {
        actorId: user.id,
        set: {
          trackingNumber: delivery.tracking_number,
          trackingUrl: delivery.tracking_url,
          // A webhook may have told us a newer status already.
          deliveryStatus: sql`coalesce(${orders.deliveryStatus}, ${delivery.status})` as never,
        },
      })
      await release(tx)
      // The DELIVERED webhook raced ahead of this answer: the order is delivered already.
      if (dispatched.deliveryStatus === 'DELIVERED') return transition(tx, id, ['dispatched'], 'delivered', 'delivered')
      return (await tx.select().from(orders).where(eq(orders.id, id)))[0]!
    })
    .catch(async (error) => {
      if (!(error instanceof HttpProblem && error.status === 409)) {
        await release(db, true).catch(() => {})
        throw error
      }
      await release(db).catch(() => {})
      const [current] = await db.select().from(orders).where(eq(orders.id, id))
      // A concurrent dispatch of the same order won with this very delivery: same answer.
      if (
        current &&
        (current.status === 'dispatched' || current.status === 'delivered') &&
        current.trackingNumber === delivery.tracking_number
      )
        return current
      // The order was cancelled meanwhile (only possible once a claim outlived its lease): the
      // parcel must not ship. Any other state keeps the delivery: it may be the order's own.
      if (current?.status === 'cancelled')
        await client.deleteDelivery(delivery.tracking_number, callOptions).catch((e) => {
          logger?.error('could not withdraw the delivery of an order cancelled during dispatch', {
            order_id: id,
            tracking_number: delivery.tracking_number,
            error: errorFields(e),
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
