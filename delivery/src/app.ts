import { Elysia } from 'elysia'
import { type Logger } from '@logistics/shared'
import { jsonBody } from '@logistics/shared/http/body'
import { problemHandling } from '@logistics/shared/http/errors'
import { securityHeaders } from '@logistics/shared/http/headers'
import { methodNotAllowed } from '@logistics/shared/http/methods'
import { apiDocs } from '@logistics/shared/http/openapi'
import { type MetricsAccess, metricsRoutes } from '@logistics/shared/metrics'
import type { DeliveryDb } from './db'
import { deliveryRoutes } from './modules/deliveries/routes'
import { healthRoutes } from './modules/health/routes'
import { type DeliveryMetrics, createDeliveryMetrics } from './modules/metrics/service'
import { trackingRoutes } from './modules/tracking/routes'
import { statusTickCron } from './modules/transitions/cron'
import type { DestinationPolicy } from './modules/webhooks/destination'
import { webhookRoutes } from './modules/webhooks/routes'
import { requestExamples } from './openapi-examples'

export type DeliveryAppDeps = {
  db: DeliveryDb
  logger: Logger
  /** Seconds between status ticks; omit to run no cron (tests call the tick directly). */
  tickSeconds?: number
  /** Called after a tick that wrote webhook events (wakes the dispatcher). */
  onTick?: () => void
  /** Where webhook URLs may point (production refuses private hosts); development rules when omitted. */
  webhookDestinations?: DestinationPolicy
  /** An API key to show on the Swagger page (index.ts passes the development key, outside production). */
  docsApiKey?: string
  /** This app's metrics (index.ts shares them with the dispatcher); a new set when omitted. */
  metrics?: DeliveryMetrics
  /** Who may read GET /metrics (`METRICS_TOKEN`); open when omitted (development). */
  metricsAccess?: MetricsAccess
}

/** The delivery service as an Elysia app, without a port: `index.ts` listens, tests call `handle`. */
export function createApp(deps: DeliveryAppDeps) {
  const metrics = deps.metrics ?? createDeliveryMetrics(deps.db)
  const app = new Elysia()
    .use(securityHeaders())
    .use(methodNotAllowed)
    .use(problemHandling(deps.logger, { observe: metrics.observeRequest }))
    .use(jsonBody())
    .use(
      apiDocs({
        title: 'Delivery service',
        description:
          'Shipping & tracking: deliveries with tracking numbers, a status that moves one step every tick, tracking history and signed webhooks. Authenticate with `Authorization: Bearer <api key>`.' +
          (deps.docsApiKey ? ` In this development setup the API key \`${deps.docsApiKey}\` works (Authorize).` : ''),
        version: '1.0.0',
        bearerDescription: deps.docsApiKey
          ? `Your API key. In this development setup the key \`${deps.docsApiKey}\` works.`
          : 'Your API key (DELIVERY_API_KEYS provisions clients).',
        examples: requestExamples,
        tags: [
          { name: 'deliveries', description: 'Create and manage deliveries' },
          { name: 'tracking', description: 'Tracking history' },
          { name: 'webhooks', description: 'Status-change notifications' },
          { name: 'health', description: 'Service health' },
        ],
      }),
    )
    .use(healthRoutes(deps.db, { tickSeconds: deps.tickSeconds }))
    .use(metricsRoutes(metrics.registry, deps.metricsAccess ?? {}))
    .use(deliveryRoutes(deps.db))
    .use(trackingRoutes(deps.db))
    .use(webhookRoutes(deps.db, deps.webhookDestinations))
  if (deps.tickSeconds !== undefined) app.use(statusTickCron(deps.db, deps.tickSeconds, deps.logger, deps.onTick, metrics.tick))
  return app
}

export type DeliveryApp = ReturnType<typeof createApp>
