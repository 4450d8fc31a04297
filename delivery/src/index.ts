import { configOrExit, createLogger, databaseOrExit, isProduction, logStartStep, onShutdown } from '@logistics/shared'
import { serveApp } from '@logistics/shared/http/serve'
import { createApp } from './app'
import { loadConfig, parseApiKeys } from './config'
import { openDeliveryDatabase } from './db'
import { provisionApiClients } from './modules/auth/service'
import { createDeliveryMetrics } from './modules/metrics/service'
import { startWorkers } from './workers'

const config = configOrExit('delivery', loadConfig)
const logger = createLogger('delivery', config.LOG_LEVEL, { format: config.LOG_FORMAT, production: isProduction(config) })
const database = await databaseOrExit('delivery', () =>
  openDeliveryDatabase(config.DATABASE_URL, {
    connectTimeoutSeconds: config.DATABASE_CONNECT_TIMEOUT_SECONDS,
    onConnectRetry: (info) => logger.warn('database not reachable yet; retrying', info),
    onStep: logStartStep(logger),
  }),
)
const disabledClients = await provisionApiClients(database.db, parseApiKeys(config.DELIVERY_API_KEYS))
for (const name of disabledClients)
  logger.warn('API client left out of DELIVERY_API_KEYS: disabled, its key is refused and its data kept', { client: name })

const metrics = createDeliveryMetrics(database.db)
const workers = startWorkers({ db: database.db, config, logger, metrics })
const app = createApp({
  db: database.db,
  config,
  logger,
  metrics,
  tickSeconds: workers.tickSeconds,
  notifyWebhooks: workers.notifyWebhooks,
})
const server = serveApp(app, config.PORT)
logger.info('delivery service listening', {
  url: `http://localhost:${server.port}`,
  swagger: `http://localhost:${server.port}/swagger`,
  database: database.kind,
  tick_seconds: config.STATUS_TICK_SECONDS,
})

onShutdown(logger, async () => {
  await workers.stop()
  await server.stop()
  await database.close()
})
