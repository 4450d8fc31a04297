import { cron } from '@elysiajs/cron'
import type { Logger } from '@logistics/shared'
import { errorFields, outageTracker } from '@logistics/shared/db-errors'
import type { DeliveryDb } from '../../db'
import { advanceDeliveries } from './tick'

export const TICK_JOB = 'statusTick'

/**
 * The cron job that fires the tick every `seconds`. Ticks closer than half an interval to the last
 * applied one are skipped (see `advanceDeliveries`), so replicas firing together step once.
 */
export function statusTickCron(
  db: DeliveryDb,
  seconds: number,
  logger: Logger,
  onTick?: () => void,
  /** Called after each tick that ran (metrics). */
  onTickRan?: (seconds: number, moved: number) => void,
) {
  // A database outage is logged once when the first tick fails and once when one runs again.
  const outage = outageTracker(logger, 'status tick')
  const aligned = 60 % seconds === 0 && seconds < 60
  return cron({
    name: TICK_JOB,
    pattern: aligned ? `*/${seconds} * * * * *` : '* * * * * *',
    ...(aligned ? {} : { interval: seconds }),
    protect: true,
    async run() {
      try {
        const started = performance.now()
        const result = await advanceDeliveries(db, { minGapMs: (seconds * 1000) / 2 })
        outage.succeeded()
        if (result.ran) onTickRan?.((performance.now() - started) / 1000, result.moved)
        if (result.ran) logger.info('tick', { moved: result.moved, webhook_events: result.events })
        else logger.debug('tick skipped', { reason: result.reason })
        if (result.ran && result.events > 0) onTick?.()
      } catch (error) {
        if (!outage.failed(error)) logger.error('tick failed', { error: errorFields(error) })
      }
    },
  })
}
