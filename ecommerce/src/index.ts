import { configOrExit, createLogger, databaseOrExit, isProduction, logStartStep, onShutdown } from '@logistics/shared'
import { serveApp } from '@logistics/shared/http/serve'
import { createApp, defaultDeliveryClient } from './app'
import { DEV_ADMIN_PASSWORD, loadConfig } from './config'
import { openEcommerceDatabase } from './db'
import { passwordWeaknessInChildProcess } from './modules/auth/password-policy'
import { ensureAdmin, retireDevelopmentPasswords } from './modules/auth/service'
import { createEcommerceMetrics } from './modules/metrics/service'
import { startWorkers } from './workers'

const config = configOrExit('ecommerce', () => loadConfig(process.env, { adminPasswordWeakness: passwordWeaknessInChildProcess }))
const logger = createLogger('ecommerce', config.LOG_LEVEL, { format: config.LOG_FORMAT, production: isProduction(config) })

const database = await databaseOrExit('ecommerce', () =>
  openEcommerceDatabase(config.DATABASE_URL, {
    connectTimeoutSeconds: config.DATABASE_CONNECT_TIMEOUT_SECONDS,
    onConnectRetry: (info) => logger.warn('database not reachable yet; retrying', info),
    onStep: logStartStep(logger),
  }),
)

const adminStarted = performance.now()
const admin = await ensureAdmin(database.db, config.ADMIN_EMAIL, config.ADMIN_PASSWORD)
const adminMs = Math.round(performance.now() - adminStarted)
if (admin.created) logger.info('administrator created', { email: config.ADMIN_EMAIL, ms: adminMs })
else if (admin.role === 'admin') logger.info('administrator exists', { email: config.ADMIN_EMAIL })
else logger.warn('ADMIN_EMAIL belongs to a non-admin user; no administrator bootstrapped', { email: config.ADMIN_EMAIL })
if (isProduction(config)) {
  for (const change of await retireDevelopmentPasswords(database.db, config.ADMIN_EMAIL, config.ADMIN_PASSWORD, [DEV_ADMIN_PASSWORD]))
    if (change.action === 'admin-password-set')
      logger.warn('the administrator still had the development password; it now has ADMIN_PASSWORD', { email: change.email })
    else
      logger.warn('an administrator still had the development password; that password no longer works, set a new one', {
        email: change.email,
      })
}

const metrics = createEcommerceMetrics()
const deliveryClient = metrics.instrumentDeliveryClient(defaultDeliveryClient(config, logger))
const workers = startWorkers({ db: database.db, config, logger, deliveryClient })
const app = createApp({ db: database.db, config, logger, metrics, deliveryClient, webhookRegistration: workers.registration })
const server = serveApp(app, config.PORT)
// Elysia's `server` (the login throttle asks it for the client's socket address) is set by app.listen;
// serveApp serves through app.handle, so hand it the server here.
app.server = server
logger.info('ecommerce listening', { port: server.port, database: database.kind, delivery_api_url: config.DELIVERY_API_URL })

onShutdown(logger, async () => {
  workers.stop()
  await server.stop()
  await database.close()
})
