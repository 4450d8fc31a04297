import type { Logger } from '@logistics/shared'
import type { DeliveryConfig } from './config'
import type { DeliveryDb } from './db'
import type { DeliveryMetrics } from './modules/metrics/service'
import type { DestinationPolicy } from './modules/webhooks/destination'

export type { DeliveryDb }

/** Everything the feature modules need, injected by createApp (tests pass their own), as in ecommerce. */
export type AppDeps = {
  db: DeliveryDb
  config: DeliveryConfig
  logger: Logger
  metrics: DeliveryMetrics
  /** Where webhook URLs may point (production refuses private hosts). */
  webhookDestinations: DestinationPolicy
  /** The interval of the status tick this process runs, told by GET /health; absent: no tick. */
  tickSeconds?: number
  /** Wakes this process's webhook dispatcher after a request wrote due events (absent: no dispatcher here). */
  notifyWebhooks?: () => void
}
