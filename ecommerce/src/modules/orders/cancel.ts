import { conflict, forbidden, HttpProblem, type OrderStatus } from '@logistics/shared'
import type { SQL } from 'drizzle-orm'
import { and, asc, eq, not, sql } from 'drizzle-orm'
import type { EcommerceDb, Tx } from '../../context'
import { orderItems, orders, products } from '../../db/schema'
import type { CurrentUser } from '../auth/model'
import type { CallOptions, DeliveryClient } from '../delivery-client/service'
import { MAX_STOCK } from '../products/model'
import type { OrderJson } from './model'
import {
  cancelBusy,
  type DispatchOptions,
  dispatchBusy,
  dispatchLeaseMs,
  getVisibleOrder,
  invalidTransition,
  transition,
  whyNotClaimed,
  withItems,
} from './service'

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
export async function cancelAndRestock(tx: Tx, id: string, from: OrderStatus, options: { actorId?: string; where?: SQL }) {
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
      // A bigint: never overflows; saturates at MAX_STOCK (unreachable in practice) so a cancel always succeeds.
      .set({ quantity: sql`least(${products.quantity} + ${item.quantity}, ${MAX_STOCK}::bigint)`, updatedAt: new Date() })
      .where(eq(products.id, item.productId))
  return cancelled
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
