import type { Logger } from '@logistics/shared'
import { errorFields } from '@logistics/shared/db-errors'
import { Cron } from 'croner'
import type { EcommerceDb } from '../../context'
import { deleteExpiredIdempotencyKeys } from './service'

/** Every hour: forget the idempotency keys older than 24 h (one indexed delete; replicas may overlap harmlessly). */
export function startIdempotencyCleanup(db: EcommerceDb, logger: Logger) {
  return new Cron('17 * * * *', { protect: true }, async () => {
    try {
      const deleted = await deleteExpiredIdempotencyKeys(db)
      if (deleted > 0) logger.info('expired idempotency keys deleted', { deleted })
    } catch (error) {
      logger.error('idempotency key clean-up failed', { error: errorFields(error) })
    }
  })
}
