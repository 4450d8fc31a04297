import type { Logger } from '@logistics/shared'
import { errorFields, isDatabaseUnavailable } from '@logistics/shared/db-errors'
import { Cron } from 'croner'
import type { EcommerceDb } from '../../context'
import type { DeliveryClient } from '../delivery-client/service'
import { settleInterruptedCancels } from './settle'

/**
 * Every minute: settle the cancels that were interrupted after their withdrawal may have happened
 * (`settleInterruptedCancels`; each write is guarded, so replicas may overlap harmlessly).
 */
export function startCancelSettlement(db: EcommerceDb, client: DeliveryClient, logger: Logger) {
  return new Cron('40 * * * * *', { protect: true }, async () => {
    try {
      await settleInterruptedCancels(db, client, { logger })
    } catch (error) {
      if (isDatabaseUnavailable(error)) logger.debug('cancel settlement skipped: database unavailable', { error: errorFields(error) })
      else logger.error('cancel settlement failed', { error: errorFields(error) })
    }
  })
}
