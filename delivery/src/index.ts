import { configOrExit, createLogger, onShutdown } from '@logistics/shared'
import { MAX_BODY_BYTES } from '@logistics/shared/http/errors'
import { createApp } from './app'
import { loadConfig, parseApiKeys } from './config'
import { openDeliveryDatabase } from './db'
import { provisionApiClients } from './modules/auth/service'
import { TICK_JOB } from './modules/transitions/cron'
import { createDispatcher } from './modules/webhooks/dispatcher'

const config = configOrExit('delivery', loadConfig)
const logger = createLogger('delivery', config.LOG_LEVEL)
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
app.listen({ port: config.PORT, maxRequestBodySize: MAX_BODY_BYTES })
logger.info('delivery service listening', {
  url: `http://localhost:${app.server?.port}`,
  swagger: `http://localhost:${app.server?.port}/swagger`,
  database: database.kind,
  tick_seconds: config.STATUS_TICK_SECONDS,
})

onShutdown(logger, async () => {
  ;(app.store as { cron?: Record<string, { stop(): void }> }).cron?.[TICK_JOB]?.stop()
  await app.stop()
  await dispatcher.stop()
  await database.close()
})
