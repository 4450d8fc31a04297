import { and, eq, isNull, lt, ne, or, sql } from 'drizzle-orm'
import { HttpProblem, type Logger, type WebhookEvent } from '@logistics/shared'
import type { EcommerceDb } from '../../context'
import { orderEvents, orders, processedWebhooks } from '../../db/schema'
import { isUuid } from '../auth/service'
import type { DeliveryClient } from '../delivery-client/service'

export type ApplyOutcome = 'duplicate' | 'unknown-order' | 'stale' | 'applied' | 'delivered'

/**
 * Applies one delivery event, once: the `webhook-id` is recorded in the same transaction (a
 * repeated event changes nothing). The delivery status follows the event unless the order already
 * applied a newer one (`delivery_status_at`), and never moves back from DELIVERED; `DELIVERED`
 * moves a dispatched order to `delivered`.
 */
export async function applyDeliveryEvent(db: EcommerceDb, webhookId: string, event: WebhookEvent, logger: Logger): Promise<ApplyOutcome> {
  return db.transaction(async (tx) => {
    const [fresh] = await tx
      .insert(processedWebhooks)
      .values({ webhookId })
      .onConflictDoNothing()
      .returning({ id: processedWebhooks.webhookId })
    if (!fresh) return 'duplicate'
    const { foreign_order_id: orderId, tracking_number: trackingNumber, status, date } = event.data
    const [order] = isUuid(orderId)
      ? await tx.select({ id: orders.id, status: orders.status }).from(orders).where(eq(orders.id, orderId))
      : []
    if (!order) {
      logger.warn('delivery event for an unknown order', { webhook_id: webhookId, foreign_order_id: orderId, tracking_number: trackingNumber })
      return 'unknown-order'
    }
    const at = new Date(date)
    const [updated] = await tx
      .update(orders)
      .set({
        deliveryStatus: status,
        deliveryStatusAt: at,
        trackingNumber: sql`coalesce(${orders.trackingNumber}, ${trackingNumber})`,
        status: sql`case when ${status} = 'DELIVERED' and ${orders.status} = 'dispatched' then 'delivered' else ${orders.status} end`,
        updatedAt: new Date(),
      })
      .where(
        and(
          eq(orders.id, order.id),
          or(isNull(orders.deliveryStatusAt), lt(orders.deliveryStatusAt, at)),
          or(isNull(orders.deliveryStatus), ne(orders.deliveryStatus, 'DELIVERED')),
          or(isNull(orders.trackingNumber), eq(orders.trackingNumber, trackingNumber)),
        ),
      )
      .returning({ status: orders.status })
    if (!updated) {
      logger.info('stale or foreign delivery event ignored', { webhook_id: webhookId, order_id: order.id, status, date })
      return 'stale'
    }
    if (updated.status === 'delivered' && order.status !== 'delivered') {
      await tx.insert(orderEvents).values({ orderId: order.id, status: 'delivered' })
      return 'delivered'
    }
    return 'applied'
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
          status = { state: 'failed', detail: `The delivery service refused the webhook registration (${refused.status}): ${refused.detail}` }
          logger.error('webhook registration refused by the delivery service; delivery status updates will not arrive until the configuration is fixed', {
            url,
            status: refused.status,
            detail: refused.detail,
          })
          return false
        }
        const message = error instanceof Error ? error.message : String(error)
        status = { state: 'pending', detail: message }
        logger.warn('webhook registration failed; retrying', { url, attempt, retry_in_ms: delay, error: message })
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
