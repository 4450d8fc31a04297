import { isProduction, type Logger } from '@logistics/shared'
import { httpBasics } from '@logistics/shared/http/basics'
import { jsonBody } from '@logistics/shared/http/body'
import { securityHeaders } from '@logistics/shared/http/headers'
import { methodNotAllowed } from '@logistics/shared/http/methods'
import { apiDocs } from '@logistics/shared/http/openapi'
import { metricsRoutes } from '@logistics/shared/metrics'
import { Elysia } from 'elysia'
import type { DeliveryConfig } from './config'
import type { AppDeps } from './context'
import type { DeliveryDb } from './db'
import { apiClientOf } from './modules/auth/plugin'
import { deliveryRoutes } from './modules/deliveries/routes'
import { healthRoutes } from './modules/health/routes'
import { createDeliveryMetrics, type DeliveryMetrics } from './modules/metrics/service'
import { trackingRoutes } from './modules/tracking/routes'
import { trackingPageRoutes } from './modules/tracking-page/routes'
import { type DestinationPolicy, webhookDestinations } from './modules/webhooks/destination'
import { webhookRoutes } from './modules/webhooks/routes'
import { developmentApiKey, requestExamples } from './openapi-examples'

export type CreateAppDeps = {
  db: DeliveryDb
  config: DeliveryConfig
  logger: Logger
  /** This app's metrics (index.ts shares them with the workers); a new set when omitted. */
  metrics?: DeliveryMetrics
  /** Where webhook URLs may point; from NODE_ENV and WEBHOOK_ALLOWED_HOSTS when omitted (tests inject DNS). */
  webhookDestinations?: DestinationPolicy
  /** The interval of the status tick this process runs (`workers.ts`), told by GET /health; absent: no tick. */
  tickSeconds?: number
  /** Wakes this process's webhook dispatcher (`workers.ts`) after a request wrote due events. */
  notifyWebhooks?: () => void
}

/** The delivery service as an Elysia app, without a port: `index.ts` listens, tests call `handle`. */
export function createApp(options: CreateAppDeps) {
  const { config } = options
  const metrics = options.metrics ?? createDeliveryMetrics(options.db)
  const deps: AppDeps = {
    db: options.db,
    config,
    logger: options.logger,
    metrics,
    webhookDestinations: options.webhookDestinations ?? webhookDestinations(config),
    tickSeconds: options.tickSeconds,
    notifyWebhooks: options.notifyWebhooks,
  }
  // The development API key on the Swagger page, outside production only.
  const docsApiKey = developmentApiKey(config)
  return (
    new Elysia()
      .use(securityHeaders())
      .use(methodNotAllowed)
      .use(httpBasics(deps.logger, { observe: metrics.observeRequest }))
      // Bodies are read only once the route's API key is checked.
      .use(jsonBody({ authenticate: apiClientOf(deps) }))
      .use(
        apiDocs({
          title: 'Delivery service',
          description:
            'Shipping & tracking: deliveries with tracking numbers, a status that moves one step every tick, tracking history and signed webhooks. Authenticate with `Authorization: Bearer <api key>`.' +
            (docsApiKey ? ` In this development setup the API key \`${docsApiKey}\` works (Authorize).` : ''),
          version: '1.0.0',
          bearerDescription: docsApiKey
            ? `Your API key. In this development setup the key \`${docsApiKey}\` works.`
            : 'Your API key (DELIVERY_API_KEYS provisions clients).',
          examples: requestExamples,
          tags: [
            { name: 'deliveries', description: 'Create and manage deliveries' },
            { name: 'tracking', description: 'Tracking history, and the public tracking page of a parcel' },
            { name: 'webhooks', description: 'Status-change notifications' },
            { name: 'health', description: 'Service health' },
          ],
        }),
      )
      .use(healthRoutes(deps))
      .use(metricsRoutes(metrics.registry, { token: config.METRICS_TOKEN, production: isProduction(config) }))
      .use(deliveryRoutes(deps))
      .use(trackingRoutes(deps))
      .use(trackingPageRoutes(deps))
      .use(webhookRoutes(deps))
  )
}
