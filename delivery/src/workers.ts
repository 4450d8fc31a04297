import type { Logger } from '@logistics/shared'
import type { DeliveryConfig } from './config'
import type { DeliveryDb } from './db'
import type { DeliveryMetrics } from './modules/metrics/service'
import { startStatusTick } from './modules/transitions/cron'
import { webhookDestinations } from './modules/webhooks/destination'
import { createDispatcher } from './modules/webhooks/dispatcher'
import { startWebhookMaintenance } from './modules/webhooks/retention'

export type WorkersDeps = { db: DeliveryDb; config: DeliveryConfig; logger: Logger; metrics: DeliveryMetrics }

/**
 * Everything the delivery service runs in the background, started and stopped together by
 * `index.ts`: the status tick every STATUS_TICK_SECONDS, the webhook dispatcher (which a tick that
 * wrote events wakes) and the webhook upkeep every minute (the purge of deleted subscriptions,
 * giving up a disabled endpoint's events, retention of WEBHOOK_RETENTION_DAYS). Tests call
 * `advanceDeliveries` / `scheduledTick`, `runOnce` and the upkeep's functions directly.
 */
export function startWorkers({ db, config, logger, metrics }: WorkersDeps) {
  const dispatcher = createDispatcher(db, logger, {
    onAttempt: metrics.attempt,
    leaseMs: config.WEBHOOK_LEASE_SECONDS * 1000,
    timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS * 1000,
    destinations: webhookDestinations(config),
  })
  dispatcher.start()
  const maintenance = startWebhookMaintenance(db, logger, { retentionDays: config.WEBHOOK_RETENTION_DAYS })
  const tick = startStatusTick(db, config.STATUS_TICK_SECONDS, logger, { onEvents: () => dispatcher.notify(), onTickRan: metrics.tick })
  return {
    tickSeconds: config.STATUS_TICK_SECONDS,
    /** Wakes the dispatcher now (a new delivery's first event, a recover, an enabled endpoint). */
    notifyWebhooks: () => dispatcher.notify(),
    /** Stops the tick (waiting for a running one), the upkeep, then the dispatcher (waiting for the sends in flight). */
    async stop() {
      await tick.stop()
      await maintenance.stop()
      await dispatcher.stop()
    },
  }
}
