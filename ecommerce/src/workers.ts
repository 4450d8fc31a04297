import type { Logger } from '@logistics/shared'
import type { Config } from './config'
import type { EcommerceDb } from './context'
import type { DeliveryClient } from './modules/delivery-client/service'
import { startProcessedWebhookCleanup } from './modules/delivery-webhooks/retention'
import { startWebhookRegistration } from './modules/delivery-webhooks/service'
import { startOrderSettlement } from './modules/orders/cron'
import { startIdempotencyCleanup } from './modules/purchases/cron'

export type WorkersDeps = { db: EcommerceDb; config: Config; logger: Logger; deliveryClient: DeliveryClient }

/**
 * Everything the ecommerce service runs in the background, started and stopped together by
 * `index.ts`: the hourly clean-ups of expired idempotency keys and of webhook ids past
 * WEBHOOK_RETENTION_DAYS, the settlement of interrupted dispatches and cancels every 15 seconds,
 * and the registration of this service's webhook on the delivery service (retried until it
 * succeeds; never blocks start-up; GET /health reports `registration.status`). Tests call `deleteExpiredIdempotencyKeys`, `settleInterruptedDispatches`,
 * `settleInterruptedCancels`, `deleteExpiredProcessedWebhooks` and `startWebhookRegistration` directly.
 */
export function startWorkers({ db, config, logger, deliveryClient }: WorkersDeps) {
  const cleanup = startIdempotencyCleanup(db, logger)
  const webhookCleanup = startProcessedWebhookCleanup(db, config.WEBHOOK_RETENTION_DAYS, logger)
  const settlement = startOrderSettlement(db, deliveryClient, logger)
  const registration = startWebhookRegistration({
    client: deliveryClient,
    url: `${config.PUBLIC_URL}/webhooks/delivery`,
    secret: config.WEBHOOK_SECRET,
    logger,
  })
  return {
    registration,
    stop() {
      cleanup.stop()
      webhookCleanup.stop()
      settlement.stop()
      registration.stop()
    },
  }
}
