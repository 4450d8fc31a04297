import { HttpProblem, type Logger } from '@logistics/shared'
import { and, eq, isNull, sql } from 'drizzle-orm'
import type { EcommerceDb } from '../../context'
import { orders } from '../../db/schema'
import type { DeliveryClient } from '../delivery-client/service'
import { cancelAndRestock } from './cancel'

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
