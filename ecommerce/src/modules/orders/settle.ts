import { HttpProblem, type Logger } from '@logistics/shared'
import { and, eq, isNull, not, sql } from 'drizzle-orm'
import type { EcommerceDb } from '../../context'
import { orders } from '../../db/schema'
import type { DeliveryClient } from '../delivery-client/service'
import { cancelAndRestock } from './cancel'
import { cancelBusy, dispatchBusy, dispatchInFlight, transition } from './service'

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

/** What settling one interrupted dispatch recorded. */
export type DispatchSettlement = 'dispatched' | 'delivered' | 'no-delivery' | 'changed'

/**
 * Settles one confirmed order whose dispatch answer was lost, by asking the delivery service for
 * the order's delivery (POST /tracking by foreign order id, the truth whatever happened):
 *  - found: the order becomes dispatched with it, its current delivery status and date (and
 *    delivered when that is DELIVERED), a history row with no actor, the dispatch lease cleared;
 *  - none: with `settleNone` (the job, once every window is over) the bookkeeping is cleared and
 *    the order stays confirmed, to be dispatched again; without it nothing is written.
 * Every write is guarded: only a confirmed order without a tracking number, no dispatch call in
 * flight (a live lease: that call records its own answer) and no cancel withdrawing the delivery
 * (`changed` otherwise: whoever started meanwhile wins). A late answer of the interrupted call
 * then finds the order dispatched with this same delivery (one per order) and answers it.
 * Throws the client's 502/503/504 problem when the delivery service does not answer.
 */
export async function settleDispatch(
  db: EcommerceDb,
  client: DeliveryClient,
  id: string,
  options: { now: Date; settleNone: boolean; logger?: Logger },
): Promise<DispatchSettlement> {
  const { now, logger } = options
  const found = await client.findDeliveryOfOrder(id)
  if (!found) {
    if (!options.settleNone) return 'no-delivery'
    const [cleared] = await db
      .update(orders)
      .set({ dispatchInflight: 0, dispatchLeaseUntil: null, dispatchUnsettledUntil: null })
      .where(and(eq(orders.id, id), eq(orders.status, 'confirmed'), not(dispatchBusy(now)), not(cancelBusy(now))))
      .returning({ id: orders.id })
    if (!cleared) return 'changed'
    logger?.info('interrupted dispatch settled: no delivery exists, the order stays confirmed', { order_id: id })
    return 'no-delivery'
  }
  const last = found.tracking.at(-1)
  const settled = await db
    .transaction(async (tx) => {
      await transition(tx, id, ['confirmed'], 'dispatched', 'dispatched', {
        set: {
          trackingNumber: found.tracking_number,
          trackingUrl: found.tracking_url,
          deliveryStatus: found.status,
          deliveryStatusAt: last ? new Date(last.date) : now,
          dispatchInflight: 0,
          dispatchLeaseUntil: null,
        },
        where: and(isNull(orders.trackingNumber), not(dispatchInFlight(now)), not(cancelBusy(now))),
      })
      if (found.status !== 'DELIVERED') return 'dispatched' as const
      await transition(tx, id, ['dispatched'], 'delivered', 'delivered')
      return 'delivered' as const
    })
    .catch((error) => {
      if (error instanceof HttpProblem && error.status === 409) return 'changed' as const
      throw error
    })
  if (settled !== 'changed')
    logger?.info('interrupted dispatch settled: the order is dispatched with the delivery the delivery service holds', {
      order_id: id,
      tracking_number: found.tracking_number,
      delivery_status: found.status,
    })
  return settled
}

export type SettledDispatches = { dispatched: number; confirmed: number; unknown: number }

/**
 * Settles the dispatches whose answer was lost: a process that died during the create-delivery
 * call (its `dispatch_lease_until` left behind), or a call that timed out or lost its connection
 * (`dispatch_unsettled_until`, the time until which it may still land). Once both are over and no
 * cancel is running, `settleDispatch` asks the delivery service and records what is true. While
 * the delivery service does not answer, the order waits for the next round.
 */
export async function settleInterruptedDispatches(
  db: EcommerceDb,
  client: DeliveryClient,
  options: { now?: Date; logger?: Logger; limit?: number } = {},
): Promise<SettledDispatches> {
  const now = options.now ?? new Date()
  const at = now.toISOString()
  const due = await db
    .select({ id: orders.id })
    .from(orders)
    .where(
      and(
        // Literally the predicate of orders_dispatch_interrupted_idx (a parameter would not match it).
        sql`${orders.status} = 'confirmed' and (${orders.dispatchLeaseUntil} is not null or ${orders.dispatchUnsettledUntil} is not null)`,
        sql`coalesce(${orders.dispatchLeaseUntil} <= ${at}, true) and coalesce(${orders.dispatchUnsettledUntil} <= ${at}, true)`,
        not(cancelBusy(now)),
      ),
    )
    .limit(options.limit ?? 50)
  const settled: SettledDispatches = { dispatched: 0, confirmed: 0, unknown: 0 }
  for (const o of due) {
    const outcome = await settleDispatch(db, client, o.id, { now, settleNone: true, logger: options.logger }).catch((error) => {
      if (error instanceof HttpProblem && error.status >= 500) return 'unknown' as const
      throw error
    })
    if (outcome === 'unknown') settled.unknown++
    else if (outcome === 'dispatched' || outcome === 'delivered') settled.dispatched++
    else if (outcome === 'no-delivery') settled.confirmed++
  }
  return settled
}
