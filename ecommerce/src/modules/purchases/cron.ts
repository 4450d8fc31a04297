import { cron } from '@elysiajs/cron'
import type { Logger } from '@logistics/shared'
import type { EcommerceDb } from '../../context'
import { deleteExpiredIdempotencyKeys } from './service'

export const IDEMPOTENCY_CLEANUP_JOB = 'idempotencyKeyCleanup'

/** Every hour: forget the idempotency keys older than 24 h (one indexed delete; replicas may overlap harmlessly). */
export function idempotencyCleanupCron(db: EcommerceDb, logger: Logger) {
  return cron({
    name: IDEMPOTENCY_CLEANUP_JOB,
    pattern: '17 * * * *',
    protect: true,
    async run() {
      try {
        const deleted = await deleteExpiredIdempotencyKeys(db)
        if (deleted > 0) logger.info('expired idempotency keys deleted', { deleted })
      } catch (error) {
        logger.error('idempotency key clean-up failed', { error: (error as Error).message })
      }
    },
  })
}
