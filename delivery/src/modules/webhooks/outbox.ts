import { type DeliveryStatus, WEBHOOK_EVENT_TYPE, type WebhookEvent } from '@logistics/shared'
import { sql } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'
import { webhookEvents, webhookSubscriptions } from '../../db/schema'

type Tx = Parameters<Parameters<DeliveryDb['transaction']>[0]>[0]

/** The exact body (the bytes signed) of a status-change event; the tick builds the same in SQL. */
function statusChangedPayload(e: {
  trackingNumber: string
  foreignOrderId: string
  status: DeliveryStatus
  previousStatus: DeliveryStatus | null
  at: Date
}): string {
  const iso = e.at.toISOString()
  const event: WebhookEvent = {
    type: WEBHOOK_EVENT_TYPE,
    timestamp: iso,
    data: {
      tracking_number: e.trackingNumber,
      foreign_order_id: e.foreignOrderId,
      status: e.status,
      previous_status: e.previousStatus,
      date: iso,
    },
  }
  return JSON.stringify(event)
}

/**
 * Writes one outbox row per live webhook subscription of `clientId` for a status change, inside the
 * caller's transaction (the change and its events commit together, or neither does). A disabled
 * endpoint's row is written given up (`recover` reaches it); the subscriptions are locked FOR KEY
 * SHARE, so the purge of one deleted meanwhile waits for this transaction (see purgeSubscription).
 */
export async function enqueueStatusEvent(
  tx: Tx,
  clientId: string,
  e: {
    deliveryId: string
    trackingNumber: string
    foreignOrderId: string
    status: DeliveryStatus
    previousStatus: DeliveryStatus | null
    at: Date
  },
): Promise<void> {
  const payload = statusChangedPayload(e)
  const at = e.at.toISOString()
  // insert … select: drizzle's insert().select() wants every column, so the statement is spelled out.
  await tx.execute(sql`
    insert into ${webhookEvents} (subscription_id, delivery_id, payload, next_attempt_at, created_at, state, last_error)
    select s.id, ${e.deliveryId}, ${payload}, ${at}, ${at},
      case when s.disabled_at is null then 'pending' else 'failed' end,
      case when s.disabled_at is not null then 'endpoint-disabled' end
    from ${webhookSubscriptions} s where s.client_id = ${clientId} and s.deleted_at is null
    for key share`)
}
