import { conflict } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { sql } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'
import { findWebhook } from './service'

/**
 * Puts a subscription's given-up (`failed`) events created at or after `since` back in the queue,
 * oldest first, for a fresh give-up window; events still pending are untouched, and so are those
 * of a delivery that was withdrawn (DELETE /deliveries/{tn}: its tracking number answers 404, so
 * its READY_FOR_PICK_UP must not arrive now). Each is re-queued once: the row changes state, so a
 * second recover (even a concurrent one) finds it no longer failed. Answers how many were
 * re-queued (404 for another client's subscription; 409 `webhook-disabled` while the endpoint is
 * disabled: nothing would be sent, enable it first). Events older than the retention window are
 * gone and cannot be recovered.
 *
 * The delivery rows are locked FOR KEY SHARE while their events are re-queued: a withdrawal waits
 * for this statement, then gives up the events it re-queued (it gives up its delivery's pending
 * events); a withdrawal that went first leaves no delivery, and nothing is re-queued.
 */
export async function recoverWebhookEvents(db: DeliveryDb, clientId: string, id: string, since: Date, now = new Date()): Promise<number> {
  const webhook = await findWebhook(db, clientId, id)
  if (webhook.state === 'disabled')
    throw conflict('webhook-disabled', `Webhook ${id} is disabled: enable it (POST /webhooks/${id}/enable), then recover`)
  const nowIso = now.toISOString()
  const rows = await queryRows<{ id: string }>(
    db,
    sql`
    with picked as (
      select e.id, row_number() over (order by e.seq) as n from webhook_events e
      where e.subscription_id = ${id} and e.state = 'failed' and e.created_at >= ${since.toISOString()}
        and exists (select 1 from deliveries d where d.id = e.delivery_id for key share)
    )
    update webhook_events e
    -- Due now, one microsecond apart in their original order; attempts restart the backoff.
    set state = 'pending', attempts = 0, recovered_at = ${nowIso},
        next_attempt_at = ${nowIso}::timestamptz + picked.n * interval '1 microsecond'
    from picked
    where e.id = picked.id and e.state = 'failed'
    returning e.id`,
  )
  return rows.length
}
