import { join } from 'node:path'
import { configOrExit, createLogger, onShutdown } from '@logistics/shared'
import { openDatabase } from '@logistics/shared/db'
import { serveApp } from '@logistics/shared/http/serve'
import { createApp, defaultDeliveryClient } from './app'
import { loadConfig } from './config'
import * as schema from './db/schema'
import { ensureAdmin } from './modules/auth/service'
import { startWebhookRegistration } from './modules/delivery-webhooks/service'

const config = configOrExit('ecommerce', loadConfig)
const logger = createLogger('ecommerce', config.LOG_LEVEL)

const database = await openDatabase({
  url: config.DATABASE_URL,
  service: 'ecommerce',
  schema,
  migrationsFolder: join(import.meta.dir, '../drizzle'),
})

const admin = await ensureAdmin(database.db, config.ADMIN_EMAIL, config.ADMIN_PASSWORD)
if (admin.created) logger.info('administrator created', { email: config.ADMIN_EMAIL })
else if (admin.role !== 'admin') logger.warn('ADMIN_EMAIL belongs to a non-admin user; no administrator bootstrapped', { email: config.ADMIN_EMAIL })

const deliveryClient = defaultDeliveryClient(config, logger)
const app = createApp({ db: database.db, config, logger, deliveryClient, housekeeping: true })
const server = serveApp(app, config.PORT)
logger.info('ecommerce listening', { port: server.port, database: database.kind, delivery_api_url: config.DELIVERY_API_URL })

const registration = startWebhookRegistration({
  client: deliveryClient,
  url: `${config.PUBLIC_URL}/webhooks/delivery`,
  secret: config.WEBHOOK_SECRET,
  logger,
})

onShutdown(logger, async () => {
  registration.stop()
  await server.stop()
  await database.close()
})
