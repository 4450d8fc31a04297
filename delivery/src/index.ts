import { configOrExit, createLogger, databaseOrExit, onShutdown } from '@logistics/shared'
import { serveApp } from '@logistics/shared/http/serve'
import { createApp } from './app'
import { loadConfig, parseApiKeys } from './config'
import { openDeliveryDatabase } from './db'
import { developmentApiKey } from './openapi-examples'
import { provisionApiClients } from './modules/auth/service'
import { TICK_JOB } from './modules/transitions/cron'
import { isProduction } from './modules/webhooks/destination'
import { createDeliveryMetrics } from './modules/metrics/service'
import { createDispatcher } from './modules/webhooks/dispatcher'

const config = configOrExit('delivery', loadConfig)
const logger = createLogger('delivery', config.LOG_LEVEL, { format: config.LOG_FORMAT, production: isProduction(config.NODE_ENV) })
const database = await databaseOrExit('delivery', () =>
  openDeliveryDatabase(config.DATABASE_URL, {
    connectTimeoutSeconds: config.DATABASE_CONNECT_TIMEOUT_SECONDS,
    onConnectRetry: (info) => logger.warn('database not reachable yet; retrying', info),
  }),
)
const disabledClients = await provisionApiClients(database.db, parseApiKeys(config.DELIVERY_API_KEYS))
for (const name of disabledClients)
  logger.warn('API client left out of DELIVERY_API_KEYS: disabled, its key is refused and its data kept', { client: name })

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
  docsApiKey: developmentApiKey(config),
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
