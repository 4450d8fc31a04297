import { configOrExit, createLogger, onShutdown } from '@logistics/shared'
import { serveApp } from '@logistics/shared/http/serve'
import { createApp } from './app'
import { loadConfig, parseApiKeys } from './config'
import { openDeliveryDatabase } from './db'
import { provisionApiClients } from './modules/auth/service'
import { TICK_JOB } from './modules/transitions/cron'
import { createDispatcher } from './modules/webhooks/dispatcher'

const config = configOrExit('delivery', loadConfig)
const logger = createLogger('delivery', config.LOG_LEVEL, { format: config.LOG_FORMAT, production: config.NODE_ENV === 'production' })
const database = await openDeliveryDatabase(config.DATABASE_URL)
await provisionApiClients(database.db, parseApiKeys(config.DELIVERY_API_KEYS))

const dispatcher = createDispatcher(database.db, logger, {
  leaseMs: config.WEBHOOK_LEASE_SECONDS * 1000,
  timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS * 1000,
})
const app = createApp({
  db: database.db,
  logger,
  tickSeconds: config.STATUS_TICK_SECONDS,
  onTick: () => dispatcher.notify(),
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
