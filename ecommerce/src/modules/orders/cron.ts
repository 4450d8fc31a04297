import type { Logger } from '@logistics/shared'
import { errorFields, isDatabaseUnavailable } from '@logistics/shared/db-errors'
import { Cron } from 'croner'
import type { EcommerceDb } from '../../context'
import type { DeliveryClient } from '../delivery-client/service'
import { settleInterruptedCancels, settleInterruptedDispatches } from './settle'

/**
 * Every 15 seconds: settle the dispatches whose answer was lost and the cancels that were
 * interrupted after their withdrawal may have happened (`settleInterruptedDispatches`,
 * `settleInterruptedCancels`: one indexed query each when there is nothing to do; each write is
 * guarded, so replicas may overlap harmlessly).
 */
export function startOrderSettlement(db: EcommerceDb, client: DeliveryClient, logger: Logger) {
  return new Cron('*/15 * * * * *', { protect: true }, async () => {
    for (const [what, settle] of [
      ['dispatch', settleInterruptedDispatches],
      ['cancel', settleInterruptedCancels],
    ] as const)
      try {
        await settle(db, client, { logger })
      } catch (error) {
        if (isDatabaseUnavailable(error)) logger.debug(`${what} settlement skipped: database unavailable`, { error: errorFields(error) })
        else logger.error(`${what} settlement failed`, { error: errorFields(error) })
      }
  })
}
