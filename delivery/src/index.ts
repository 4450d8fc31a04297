import { configOrExit, createLogger, onShutdown } from '@logistics/shared'
import { serveApp } from '@logistics/shared/http/serve'
import { createApp } from './app'
import { loadConfig, parseApiKeys } from './config'
import { openDeliveryDatabase } from './db'
import { provisionApiClients } from './modules/auth/service'
import { TICK_JOB } from './modules/transitions/cron'
import { isProduction } from './modules/webhooks/destination'
import { createDeliveryMetrics } from './modules/metrics/service'
import { createDispatcher } from './modules/webhooks/dispatcher'

const config = configOrExit('delivery', loadConfig)
const logger = createLogger('delivery', config.LOG_LEVEL)
const database = await openDeliveryDatabase(config.DATABASE_URL)
await provisionApiClients(database.db, parseApiKeys(config.DELIVERY_API_KEYS))

const webhookDestinations = { production: isProduction(config.NODE_ENV), allowedHosts: config.WEBHOOK_ALLOWED_HOSTS }
const metrics = createDeliveryMetrics(database.db)
const dispatcher = createDispatcher(database.db, logger, {
  onAttempt: metrics.attempt,
  leaseMs: config.WEBHOOK_LEASE_SECONDS * 1000,
  timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS * 1000,
  destinations: webhookDestinations,
})
const app = createApp({
  db: database.db,
  logger,
  tickSeconds: config.STATUS_TICK_SECONDS,
  onTick: () => dispatcher.notify(),
  webhookDestinations,
  metrics,
  metricsAccess: { token: config.METRICS_TOKEN, production: isProduction(config.NODE_ENV) },
})
dispatcher.start()
const server = serveApp(app, config.PORT)
logger.info('delivery service listening', {
  url: `http://localhost:${server.port}`,
  swagger: `http://localhost:${server.port}/swagger`,
  database: database.kind,
  tick_seconds: config.STATUS_TICK_SECONDS,
})

onShutdown(logger, async () => {
  ;(app.store as { cron?: Record<string, { stop(): void }> }).cron?.[TICK_JOB]?.stop()
  await server.stop()
  await dispatcher.stop()
  await database.close()
})
