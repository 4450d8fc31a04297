import { Elysia } from 'elysia'
import { type Logger } from '@logistics/shared'
import { problemHandling } from '@logistics/shared/http/errors'
import { apiDocs } from '@logistics/shared/http/openapi'
import type { DeliveryDb } from './db'
import { deliveryRoutes } from './modules/deliveries/routes'
import { healthRoutes } from './modules/health/routes'
import { trackingRoutes } from './modules/tracking/routes'
import { statusTickCron } from './modules/transitions/cron'
import { webhookRoutes } from './modules/webhooks/routes'

export type DeliveryAppDeps = {
  db: DeliveryDb
  logger: Logger
  /** Seconds between status ticks; omit to run no cron (tests call the tick directly). */
  tickSeconds?: number
  /** Called after a tick that wrote webhook events (wakes the dispatcher). */
  onTick?: () => void
}

/** The delivery service as an Elysia app, without a port: `index.ts` listens, tests call `handle`. */
export function createApp(deps: DeliveryAppDeps) {
  const app = new Elysia()
    .use(problemHandling(deps.logger))
    .use(
      apiDocs({
        title: 'Delivery service',
        description:
          'Shipping & tracking: deliveries with tracking numbers, a status that moves one step every tick, tracking history and signed webhooks. Authenticate with `Authorization: Bearer <api key>`.',
        version: '1.0.0',
        tags: [
          { name: 'deliveries', description: 'Create and manage deliveries' },
          { name: 'tracking', description: 'Tracking history' },
          { name: 'webhooks', description: 'Status-change notifications' },
          { name: 'health', description: 'Service health' },
        ],
      }),
    )
    .use(healthRoutes(deps.db, { tickSeconds: deps.tickSeconds }))
    .use(deliveryRoutes(deps.db))
    .use(trackingRoutes(deps.db))
    .use(webhookRoutes(deps.db))
  if (deps.tickSeconds !== undefined) app.use(statusTickCron(deps.db, deps.tickSeconds, deps.logger, deps.onTick))
  return app
}

export type DeliveryApp = ReturnType<typeof createApp>
