import { DEFAULT_TOLERANCE_SECONDS, type DeliveryStatus, HttpProblem, isUuid, type Logger, type WebhookEvent } from '@logistics/shared'
import { eq } from 'drizzle-orm'
import type { EcommerceDb } from '../../context'
import { orderEvents, orders, processedWebhooks } from '../../db/schema'
import type { DeliveryClient } from '../delivery-client/service'
import { type DispatchSettlement, settleDispatch } from '../orders/settle'

export type ApplyOutcome =
  | 'duplicate'
  | 'unknown-order'
  | 'cancelled'
  | 'not-dispatched'
  | 'foreign-tracking-number'
  | 'stale'
  | 'applied'
  | 'delivered'

/** How far ahead of this clock an event's date may be (the Standard Webhooks timestamp tolerance). */
const EVENT_DATE_TOLERANCE_MS = DEFAULT_TOLERANCE_SECONDS * 1000

/** Seconds the delivery service is told to wait before resending an event for an order mid-dispatch. */
const ORDER_NOT_READY_RETRY_AFTER_SECONDS = 5

/**
 * The stage of a status in the parcel's progression. NOT_DELIVERED and IN_ROUTE_OF_DELIVERY share
 * one (a parcel loops between them); DELIVERED is final.
 */
const STAGE: Record<DeliveryStatus, number> = {
  READY_FOR_PICK_UP: 0,
  IN_ORIGIN: 1,
  IN_ROUTE_OF_DELIVERY: 2,
  NOT_DELIVERED: 2,
  DELIVERED: 3,
}

/**
 * Whether an event (`next` at `nextAt`) supersedes what the order shows. The status progression
 * decides first (an earlier stage never overwrites a later one, nothing moves DELIVERED); only
 * within one stage (the same status again, the NOT_DELIVERED ↔ IN_ROUTE_OF_DELIVERY loop) does the
 * later date win. A stored date beyond the clock-skew tolerance is not trusted (it could only
 * come from before dates were checked), so no date can freeze later updates.
 */
export function supersedes(
  current: { status: DeliveryStatus | null; at: Date | null },
  next: { status: DeliveryStatus; at: Date },
  now: Date = new Date(),
): boolean {
  if (current.status === null) return true
  if (current.status === 'DELIVERED') return false
  const step = STAGE[next.status] - STAGE[current.status]
  if (step !== 0) return step > 0
  const trustedAt = current.at && current.at.getTime() <= now.getTime() + EVENT_DATE_TOLERANCE_MS ? current.at : null
  return trustedAt === null || next.at.getTime() > trustedAt.getTime()
}

/** 503 `order-not-ready`: the delivery service sends the event again shortly (nothing was recorded). */
const orderNotReady = (orderId: string, why: string) =>
  new HttpProblem(
    503,
    'order-not-ready',
    `Order ${orderId} ${why} and does not know its tracking number yet; send the event again shortly`,
    {},
    { 'retry-after': String(ORDER_NOT_READY_RETRY_AFTER_SECONDS) },
  )

/**
 * Before an event for a confirmed order whose dispatch was attempted but never recorded its
 * delivery: when no dispatch call is in flight any more (its lease is over: the process died, or
 * the call timed out or lost its connection) and no cancel is withdrawing the delivery, the
 * dispatch is settled now (`settleDispatch`: the delivery service says which delivery the order
 * has), so this event and the next ones apply instead of being retried for a day. The event
 * itself is not taken as the delivery: a delivery an earlier cancel withdrew still has events on
 * their way. Answers what the settlement recorded, undefined when it was not tried (not needed,
 * or the order is busy). A delivery service that does not answer is a 503 to retry.
 */
async function settleDispatchFirst(
  db: EcommerceDb,
  client: DeliveryClient,
  orderId: string,
  now: Date,
  logger: Logger,
): Promise<DispatchSettlement | undefined> {
  const [order] = await db
    .select({
      status: orders.status,
      trackingNumber: orders.trackingNumber,
      attempted: orders.dispatchAttemptedAt,
      lease: orders.dispatchLeaseUntil,
      cancelLease: orders.cancelLeaseUntil,
    })
    .from(orders)
    .where(eq(orders.id, orderId))
  if (order?.status !== 'confirmed' || order.trackingNumber !== null || order.attempted === null) return undefined
  if ((order.lease && order.lease > now) || (order.cancelLease && order.cancelLease > now)) return undefined
  try {
    return await settleDispatch(db, client, orderId, { now, settleNone: false, logger })
  } catch (error) {
    if (error instanceof HttpProblem && error.status >= 500) throw orderNotReady(orderId, 'had its dispatch interrupted')
    throw error
  }
}

/**
 * Applies one delivery event, once: the `webhook-id` is recorded in the same transaction (a
 * repeated event changes nothing). It applies only to the order whose delivery has that tracking
 * number; an event for an unknown or cancelled order, an order not dispatched, or another
 * tracking number is acknowledged, logged and ignored. An event for a `confirmed` order without a
 * tracking number yet is:
 *  - refused with a retryable 503 `order-not-ready` (nothing recorded, the delivery service sends
 *    it again) while its dispatch call is in flight (the delivery exists, the answer is not stored
 *    yet) or a cancel is withdrawing that delivery;
 *  - once no call is in flight, first used to settle the interrupted dispatch (`settleDispatchFirst`:
 *    the delivery service is asked, the order recorded as dispatched), then applied;
 *  - ignored when the order was never dispatched (no attempt: the seller never asked to ship it,
 *    so no event makes it dispatched; a later dispatch adopts that delivery), or when the delivery
 *    service no longer holds a delivery for it (withdrawn).
 * A date ahead of this clock beyond the tolerance is refused (422). `DELIVERED` moves a
 * dispatched order to `delivered`.
 */
export async function applyDeliveryEvent(
  db: EcommerceDb,
  webhookId: string,
  event: WebhookEvent,
  logger: Logger,
  options: { client: DeliveryClient; now?: Date },
): Promise<ApplyOutcome> {
  const now = options.now ?? new Date()
  const { foreign_order_id: orderId, tracking_number: trackingNumber, status, date } = event.data
  const at = new Date(date)
  if (at.getTime() > now.getTime() + EVENT_DATE_TOLERANCE_MS)
    throw new HttpProblem(
      422,
      'event-date-in-future',
      `The event date ${date} is more than ${EVENT_DATE_TOLERANCE_MS / 1000} s ahead of this service's clock; it is accepted once it no longer is`,
    )
  const context = { webhook_id: webhookId, foreign_order_id: orderId, tracking_number: trackingNumber, status }
  const settled = isUuid(orderId) ? await settleDispatchFirst(db, options.client, orderId, now, logger) : undefined
  return db.transaction(async (tx) => {
    const [fresh] = await tx
      .insert(processedWebhooks)
      .values({ webhookId })
      .onConflictDoNothing()
      .returning({ id: processedWebhooks.webhookId })
    if (!fresh) return 'duplicate'
    // Locked: events for one order, and its dispatch, apply one after the other.
    const [order] = isUuid(orderId)
      ? await tx
          .select({
            id: orders.id,
            status: orders.status,
            trackingNumber: orders.trackingNumber,
            deliveryStatus: orders.deliveryStatus,
            deliveryStatusAt: orders.deliveryStatusAt,
            attempted: orders.dispatchAttemptedAt,
            lease: orders.dispatchLeaseUntil,
            cancelLease: orders.cancelLeaseUntil,
          })
          .from(orders)
          .where(eq(orders.id, orderId))
          .for('update')
      : []
    if (!order) {
      logger.warn('delivery event for an unknown order ignored', context)
      return 'unknown-order'
    }
    if (order.status === 'cancelled') {
      logger.warn('delivery event for a cancelled order ignored', { ...context, order_tracking_number: order.trackingNumber })
      return 'cancelled'
    }
    if (order.trackingNumber === null) {
      // Throwing rolls the webhook-id back: the retry is not a duplicate.
      if (order.status === 'confirmed' && order.attempted !== null) {
        if (order.lease && order.lease > now) throw orderNotReady(order.id, 'is being dispatched')
        if (order.cancelLease && order.cancelLease > now) throw orderNotReady(order.id, 'is being cancelled')
        // Not settled before this transaction (its lease ended just now, or it changed meanwhile): next time.
        if (settled !== 'no-delivery') throw orderNotReady(order.id, 'had its dispatch interrupted')
        logger.warn('delivery event for a delivery the delivery service no longer holds ignored', {
          ...context,
          order_status: order.status,
        })
        return 'not-dispatched'
      }
      logger.warn('delivery event for an order that was never dispatched ignored', { ...context, order_status: order.status })
      return 'not-dispatched'
    }
    if (order.trackingNumber !== trackingNumber) {
      logger.warn("delivery event for another tracking number than the order's ignored", {
        ...context,
        order_tracking_number: order.trackingNumber,
      })
      return 'foreign-tracking-number'
    }
    if (!supersedes({ status: order.deliveryStatus, at: order.deliveryStatusAt }, { status, at }, now)) {
      logger.info('stale delivery event ignored', { ...context, current_status: order.deliveryStatus, date })
      return 'stale'
    }
    const delivered = status === 'DELIVERED' && order.status === 'dispatched'
    await tx
      .update(orders)
      .set({ deliveryStatus: status, deliveryStatusAt: at, ...(delivered ? { status: 'delivered' as const } : {}), updatedAt: new Date() })
      .where(eq(orders.id, order.id))
    if (!delivered) return 'applied'
    await tx.insert(orderEvents).values({ orderId: order.id, status: 'delivered' })
    return 'delivered'
  })
}

/** Where the start-up webhook registration stands (reported by GET /health). */
export type WebhookRegistrationStatus =
  | { state: 'pending'; detail?: string }
  | { state: 'registered' }
  | { state: 'failed'; detail: string }

export type WebhookRegistration = {
  /** Resolves true once registered, false when stopped first or refused. */
  done: Promise<boolean>
  readonly status: WebhookRegistrationStatus
  stop(): void
}

/** An answer that retrying cannot change: the delivery service refused the request (4xx). */
function refusal(error: unknown): { status: number; detail: string } | null {
  if (!(error instanceof HttpProblem)) return null
  const status = error.extensions.upstream_status
  if (typeof status !== 'number' || status < 400 || status >= 500 || status === 408 || status === 429) return null
  const detail = error.extensions.upstream_detail
  return { status, detail: typeof detail === 'string' ? detail : error.message }
}

/**
 * Registers `url` with `secret` on the delivery service in the background, retrying with
 * exponential backoff (capped) while it is not reachable or fails (5xx); never blocks start-up.
 * A first failed try is logged at info (the delivery service may still be starting), the next ones at warn.
 * A refusal (4xx: a bad secret or url, a wrong API key) is a configuration error: logged at error
 * level with the delivery service's detail, not retried, and reported as `failed` in `status`.
 */
export function startWebhookRegistration(options: {
  client: DeliveryClient
  url: string
  secret: string
  logger: Logger
  initialDelayMs?: number
  maxDelayMs?: number
}): WebhookRegistration {
  const { client, url, secret, logger } = options
  const initial = options.initialDelayMs ?? 1000
  const max = options.maxDelayMs ?? 30_000
  let stopped = false
  let status: WebhookRegistrationStatus = { state: 'pending' }
  let timer: ReturnType<typeof setTimeout> | undefined
  let wake: (() => void) | undefined
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve
      timer = setTimeout(resolve, ms)
    })
  const done = (async () => {
    let delay = initial
    for (let attempt = 1; !stopped; attempt++) {
      try {
        const result = await client.registerWebhook(url, secret)
        status = { state: 'registered' }
        logger.info('webhook registered on the delivery service', { url, id: result.id, outcome: result.outcome, attempt })
        return true
      } catch (error) {
        if (stopped) break
        const refused = refusal(error)
        if (refused) {
          status = {
            state: 'failed',
            detail: `The delivery service refused the webhook registration (${refused.status}): ${refused.detail}`,
          }
          logger.error(
            'webhook registration refused by the delivery service; delivery status updates will not arrive until the configuration is fixed',
            {
              url,
              status: refused.status,
              detail: refused.detail,
            },
          )
          return false
        }
        const message = error instanceof Error ? error.message : String(error)
        status = { state: 'pending', detail: message }
        // The first try often comes before the delivery service is up (both start together): news, not a warning.
        if (attempt === 1) logger.info('webhook registration waits for the delivery service', { url, retry_in_ms: delay, error: message })
        else logger.warn('webhook registration failed; retrying', { url, attempt, retry_in_ms: delay, error: message })
      }
      await sleep(delay)
      delay = Math.min(max, delay * 2)
    }
    return false
  })()
  return {
    done,
    get status() {
      return status
    },
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      wake?.()
    },
  }
}
