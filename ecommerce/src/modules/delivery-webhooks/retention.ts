import type { Logger } from '@logistics/shared'
import { errorFields, isDatabaseUnavailable } from '@logistics/shared/db-errors'
import { Cron } from 'croner'
import { inArray, lt } from 'drizzle-orm'
import type { EcommerceDb } from '../../context'
import { processedWebhooks } from '../../db/schema'

const DAY_MS = 24 * 60 * 60_000

/**
 * Forgets the webhook ids received more than `retentionDays` ago, `batchSize` rows per statement
 * (each a short range scan of processed_webhooks_received_idx, its own transaction: no long lock,
 * no long write burst) and at most `maxBatches` statements per call; answers how many it deleted.
 *
 * An event replayed after its id was forgotten is applied again, which changes nothing: the
 * status progression (`supersedes`) refuses a status behind the order's and an older date within
 * a stage, DELIVERED is final, and a cancelled order ignores every event. Only the delivery service
 * can send one (each send is signed with a timestamp checked to within 5 minutes).
 */
export async function deleteExpiredProcessedWebhooks(
  db: EcommerceDb,
  options: { retentionDays: number; now?: Date; batchSize?: number; maxBatches?: number },
): Promise<number> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * DAY_MS)
  const batchSize = options.batchSize ?? 1000
  let deleted = 0
  for (let batch = 0; batch < (options.maxBatches ?? 100); batch++) {
    const oldest = db
      .select({ id: processedWebhooks.webhookId })
      .from(processedWebhooks)
      .where(lt(processedWebhooks.receivedAt, cutoff))
      .limit(batchSize)
    const rows = await db
      .delete(processedWebhooks)
      .where(inArray(processedWebhooks.webhookId, oldest))
      .returning({ id: processedWebhooks.webhookId })
    deleted += rows.length
    if (rows.length < batchSize) break
  }
  return deleted
}

/** Every hour: purge the webhook ids older than WEBHOOK_RETENTION_DAYS (replicas may overlap harmlessly). */
export function startProcessedWebhookCleanup(db: EcommerceDb, retentionDays: number, logger: Logger) {
  return new Cron('23 * * * *', { protect: true }, async () => {
    try {
      const deleted = await deleteExpiredProcessedWebhooks(db, { retentionDays })
      if (deleted > 0) logger.info('processed webhook ids past their retention deleted', { deleted, retention_days: retentionDays })
    } catch (error) {
      if (isDatabaseUnavailable(error))
        logger.debug('processed webhook clean-up skipped: database unavailable', { error: errorFields(error) })
      else logger.error('processed webhook clean-up failed', { error: errorFields(error) })
    }
  })
}
