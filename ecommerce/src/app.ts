import { isProduction, type Logger } from '@logistics/shared'
import { httpBasics } from '@logistics/shared/http/basics'
import { jsonBody } from '@logistics/shared/http/body'
import { securityHeaders } from '@logistics/shared/http/headers'
import { methodNotAllowed } from '@logistics/shared/http/methods'
import { apiDocs } from '@logistics/shared/http/openapi'
import { metricsRoutes } from '@logistics/shared/metrics'
import { Elysia } from 'elysia'
import type { Config } from './config'
import type { AppDeps, EcommerceDb, PasswordHashing } from './context'
import { currentUserOf } from './modules/auth/plugin'
import { authRoutes } from './modules/auth/routes'
import { createDeliveryClient, type DeliveryClient } from './modules/delivery-client/service'
import { deliveryWebhookBeforeBody, deliveryWebhooksRoutes } from './modules/delivery-webhooks/routes'
import { healthRoutes } from './modules/health/routes'
import { createEcommerceMetrics, type EcommerceMetrics } from './modules/metrics/service'
import { ordersRoutes } from './modules/orders/routes'
import { productsRoutes } from './modules/products/routes'
import { purchasesRoutes } from './modules/purchases/routes'
import { sellersRoutes } from './modules/sellers/routes'
import { usersRoutes } from './modules/users/routes'
import { demoGuide, liveExamples, requestExamples } from './openapi-examples'
import { ECOMMERCE_PROBLEMS } from './problems'

export type CreateAppDeps = {
  db: EcommerceDb
  config: Config
  logger: Logger
  /** Defaults to a ky client for DELIVERY_API_URL with DELIVERY_API_KEY. */
  deliveryClient?: DeliveryClient
  /** argon2id costs; Bun's defaults unless given (tests pass cheap ones). */
  passwordHashing?: PasswordHashing
  /** The webhook registration this process runs (`workers.ts`), whose state GET /health reports. */
  webhookRegistration?: AppDeps['webhookRegistration']
  /** This app's metrics (index.ts shares them with the workers); a new set when omitted. */
  metrics?: EcommerceMetrics
}

export function defaultDeliveryClient(config: Config, logger: Logger): DeliveryClient {
  return createDeliveryClient({
    baseUrl: config.DELIVERY_API_URL,
    apiKey: config.DELIVERY_API_KEY,
    timeoutMs: config.DELIVERY_TIMEOUT_MS,
    logger,
  })
}

/** The ecommerce HTTP app, without a listening port (tests call `app.handle`). */
export function createApp(options: CreateAppDeps) {
  const metrics = options.metrics ?? createEcommerceMetrics()
  const deps: AppDeps = {
    db: options.db,
    config: options.config,
    logger: options.logger,
    deliveryClient: metrics.instrumentDeliveryClient(options.deliveryClient ?? defaultDeliveryClient(options.config, options.logger)),
    passwordHashing: options.passwordHashing ?? {},
    webhookRegistration: options.webhookRegistration,
    metrics,
  }
  return (
    new Elysia()
      .use(securityHeaders())
      .use(methodNotAllowed)
      .use(httpBasics(deps.logger, { observe: metrics.observeRequest }))
      // Bodies are read only once the route's credentials are checked (a user's token, a webhook's
      // signature headers), and within the process's bound.
      .use(
        jsonBody({
          authenticate: currentUserOf(deps),
          beforeBody: deliveryWebhookBeforeBody,
          bytesInFlight: deps.config.REQUEST_BODY_BUFFER_MB * 1024 * 1024,
        }),
      )
      .use(
        apiDocs({
          title: 'Ecommerce marketplace',
          examples: requestExamples(deps.config),
          liveExamples: liveExamples(deps.config, deps.db),
          problems: ECOMMERCE_PROBLEMS,
          bearerDescription:
            'The `access_token` of `POST /auth/login`: paste the token itself (Swagger adds `Bearer `). It lasts `expires_in` seconds.',
          description: [
            'Sellers sell products; customers buy from several sellers in one purchase (one order per seller); orders are shipped through the delivery service. ' +
              'Log in with `POST /auth/login` and send `Authorization: Bearer <access_token>`.',
            '',
            'Errors are `application/problem+json` (RFC 9457) with a machine-readable `code`: each operation lists the codes it can answer, ' +
              "and a problem's `type` (`/problems/{code}`) is a page describing its code. Every answer carries `X-Request-Id`.",
            demoGuide(deps.config) ?? '',
          ].join('\n'),
          tags: [
            { name: 'auth', description: 'Log in' },
            { name: 'users', description: 'Marketplace users (customers) and the current user' },
            { name: 'sellers', description: 'Sellers and their users' },
            { name: 'products', description: 'The catalogue' },
            { name: 'purchases', description: 'Buying' },
            { name: 'orders', description: 'Orders, their transitions and tracking' },
            { name: 'webhooks', description: 'Events from the delivery service' },
            { name: 'health', description: 'Liveness' },
          ],
        }),
      )
      .use(healthRoutes(deps))
      .use(
        metricsRoutes(metrics.registry, {
          token: options.config.METRICS_TOKEN,
          production: isProduction(options.config),
        }),
      )
      .use(authRoutes(deps))
      .use(usersRoutes(deps))
      .use(sellersRoutes(deps))
      .use(productsRoutes(deps))
      .use(purchasesRoutes(deps))
      .use(ordersRoutes(deps))
      .use(deliveryWebhooksRoutes(deps))
  )
}
