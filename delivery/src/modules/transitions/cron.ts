import type { Logger } from '@logistics/shared'
import { errorFields, type OutageTracker, outageTracker } from '@logistics/shared/db-errors'
import { Cron } from 'croner'
import type { DeliveryDb } from '../../db'
import { advanceDeliveries } from './tick'

export type TickHooks = {
  /** Called after a tick that wrote webhook events (wakes the dispatcher). */
  onEvents?: () => void
  /** Called after each tick that ran (metrics). */
  onTickRan?: (seconds: number, moved: number) => void
  /** Logs a database outage once when it starts and once when it ends. */
  outage?: OutageTracker
}

/**
 * One scheduled tick and its log line: a tick that moved something is news (info); an idle or
 * skipped one is not (debug), so a quiet service prints nothing every interval.
 */
export async function scheduledTick(
  db: DeliveryDb,
  seconds: number,
  logger: Logger,
  onEvents?: () => void,
  options: Omit<TickHooks, 'onEvents'> = {},
) {
  try {
    const started = performance.now()
    const result = await advanceDeliveries(db, { minGapMs: (seconds * 1000) / 2 })
    options.outage?.succeeded()
    if (result.ran) options.onTickRan?.((performance.now() - started) / 1000, result.moved)
    if (result.ran && result.moved > 0) logger.info('tick', { moved: result.moved, webhook_events: result.events })
    else if (result.ran) logger.debug('tick', { moved: 0 })
    else logger.debug('tick skipped', { reason: result.reason })
    if (result.ran && result.events > 0) onEvents?.()
  } catch (error) {
    if (!options.outage?.failed(error)) logger.error('tick failed', { error: errorFields(error) })
  }
}

/**
 * Fires the tick every `seconds` (croner): on the wall-clock multiples of `seconds` when it divides
 * a minute, else every `seconds` from now. A tick still running makes the next one skip (`protect`),
 * and ticks closer than half an interval to the last applied one are skipped (see
 * `advanceDeliveries`), so replicas firing together step once. `stop()` waits for a running tick.
 */
export function startStatusTick(db: DeliveryDb, seconds: number, logger: Logger, hooks: Omit<TickHooks, 'outage'> = {}) {
  // A database outage is logged once when the first tick fails and once when one runs again.
  const outage = outageTracker(logger, 'status tick')
  const aligned = 60 % seconds === 0 && seconds < 60
  let running: Promise<void> = Promise.resolve()
  const job = new Cron(
    aligned ? `*/${seconds} * * * * *` : '* * * * * *',
    { ...(aligned ? {} : { interval: seconds }), protect: true },
    () => {
      running = scheduledTick(db, seconds, logger, hooks.onEvents, { onTickRan: hooks.onTickRan, outage })
      return running
    },
  )
  return {
    async stop() {
      job.stop()
      await running
    },
  }
}
