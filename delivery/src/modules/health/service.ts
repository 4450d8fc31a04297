import type { DeliveryDb } from '../../db'
import { pendingWebhookStats } from '../webhooks/service'
import type { Health } from './model'

/** The readiness report (the outbox lag, the tick interval), or null when the database does not answer. */
export async function readiness(db: DeliveryDb, tickSeconds?: number): Promise<Health | null> {
  try {
    const stats = await pendingWebhookStats(db)
    return {
      status: 'ok',
      oldest_pending_webhook_age_seconds: stats.oldestAgeSeconds,
      disabled_webhooks: stats.disabledEndpoints,
      ...(tickSeconds !== undefined && { tick_seconds: tickSeconds }),
    }
  } catch {
    return null
  }
}
