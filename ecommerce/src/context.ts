import type { Logger } from '@logistics/shared'
import type { Config } from './config'
import type { EcommerceDb } from './db'
import type { DeliveryClient } from './modules/delivery-client/service'
import type { WebhookRegistrationStatus } from './modules/delivery-webhooks/service'
import type { EcommerceMetrics } from './modules/metrics/service'

export type { EcommerceDb }

/** argon2id cost parameters (Bun.password defaults when unset; tests use cheap ones). */
export type PasswordHashing = { memoryCost?: number; timeCost?: number }

/** Everything the feature modules need, injected by createApp (tests pass their own). */
export type AppDeps = {
  db: EcommerceDb
  config: Config
  logger: Logger
  deliveryClient: DeliveryClient
  passwordHashing: PasswordHashing
  /** The start-up webhook registration, reported by GET /health (absent in tests that start none). */
  webhookRegistration?: { readonly status: WebhookRegistrationStatus }
  metrics: EcommerceMetrics
}

/** A database handle or an open transaction: services take either. */
export type Tx = Parameters<Parameters<EcommerceDb['transaction']>[0]>[0]
export type DbOrTx = EcommerceDb | Tx
