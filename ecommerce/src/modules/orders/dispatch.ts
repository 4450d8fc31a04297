import { type CreateDeliveryInput, forbidden, HttpProblem } from '@logistics/shared'
import { errorFields, isDatabaseUnavailable } from '@logistics/shared/db-errors'
import { and, asc, eq, not, sql } from 'drizzle-orm'
import type { DbOrTx, EcommerceDb } from '../../context'
import { orderItems, orders } from '../../db/schema'
import type { CurrentUser } from '../auth/model'
import type { DeliveryClient } from '../delivery-client/service'
import type { OrderJson } from './model'
import {
  cancelBusy,
  type DispatchOptions,
  dispatchLeaseMs,
  getVisibleOrder,
  invalidTransition,
  transition,
  whyNotClaimed,
  withItems,
} from './service'

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
 * A dispatch whose answer never came (a crash, a timeout, a reset) is settled by asking the
 * delivery service (settle.ts): by the job once its lease and window are over, or at once by the
 * first event of its delivery (delivery-webhooks); see docs/design-dispatch.md.
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
    // An HTTP error answer means nothing was created; a timeout, a dropped connection or an
    // unreadable answer may hide a delivery: settled once its window is over (settleInterruptedDispatches).
    const unsettled = !(error instanceof HttpProblem && error.status === 502 && typeof error.extensions.upstream_status === 'number')
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
