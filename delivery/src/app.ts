import { isProduction, type Logger, WEBHOOK_EVENT_TYPE, WebhookEventSchema } from '@logistics/shared'
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
import { developmentApiKey, requestExamples, statusChangedExample } from './openapi-examples'
import { DELIVERY_PROBLEMS } from './problems'

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
          description: [
            'Shipping & tracking: deliveries with tracking numbers, a status that moves one step every tick, tracking history and signed webhooks ' +
              '(the `delivery.status_changed` event below). Authenticate with `Authorization: Bearer <api key>`.',
            '',
            'Errors are `application/problem+json` (RFC 9457) with a machine-readable `code`: each operation lists the codes it can answer, ' +
              "and a problem's `type` (`/problems/{code}`) is a page describing its code. Every answer carries `X-Request-Id`.",
            ...(docsApiKey
              ? [
                  '',
                  `**Try it (development setup):** Authorize with the API key \`${docsApiKey}\`, then \`POST /deliveries\` with its example.`,
                ]
              : []),
          ].join('\n'),
          bearerDescription: docsApiKey
            ? `Your API key, as it is (Swagger adds \`Bearer \`). In this development setup the key \`${docsApiKey}\` works.`
            : 'Your API key, as it is (Swagger adds `Bearer `): DELIVERY_API_KEYS provisions the API clients and their keys.',
          examples: requestExamples,
          problems: DELIVERY_PROBLEMS,
          webhooks: {
            [WEBHOOK_EVENT_TYPE]: {
              operationId: 'deliveryStatusChanged',
              summary: 'A delivery changed status: POSTed to every webhook of its API client',
              description:
                "Signed per Standard Webhooks with the webhook's `secret`: verify `webhook-signature` over `webhook-id.webhook-timestamp.body` before trusting the body. " +
                'Sent once per status change, in order per delivery; retried with backoff until a 2xx, for 24 hours (then given up: `POST /webhooks/{id}/recover` sends it again). ' +
                'A retry carries the same `webhook-id`: drop repeats by it. ecommerce receives it at `POST /webhooks/delivery`.',
              payload: WebhookEventSchema,
              example: statusChangedExample,
            },
          },
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
