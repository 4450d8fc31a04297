import { Elysia } from 'elysia'
import { TrackingResponseSchema, listOf } from '@logistics/shared'
import { requestIdOf } from '@logistics/shared/http/errors'
import { bearerAuth } from '@logistics/shared/http/openapi'
import type { AppDeps } from '../../context'
import { authGuard } from '../auth/routes'
import { IdParamsSchema, problems } from '../common'
import { OrderHistorySchema, OrderListQuerySchema, OrderSchema } from './model'
import { cancelOrder, confirmOrder, dispatchLeaseMs, dispatchOrder, getOrder, getOrderHistory, getOrderTracking, listOrders } from './service'

const tags = ['orders']

export const ordersRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'orders' })
    .use(authGuard(deps))
    .get(
      '/orders',
      async ({ query, requireUser }) => listOrders(deps.db, await requireUser(), query),
      {
        query: OrderListQuerySchema,
        response: { 200: listOf(OrderSchema), ...problems(401, 422) },
        detail: {
          tags,
          summary: "List orders (admin: all; seller user: its seller's; customer: its own); filter by `status`",
          security: bearerAuth,
        },
      },
    )
    .get('/orders/:id', async ({ params, requireUser }) => getOrder(deps.db, await requireUser(), params.id), {
      params: IdParamsSchema,
      response: { 200: OrderSchema, ...problems(401, 404) },
      detail: { tags, summary: 'View an order', security: bearerAuth },
    })
    .get('/orders/:id/history', async ({ params, requireUser }) => getOrderHistory(deps.db, await requireUser(), params.id), {
      params: IdParamsSchema,
      response: { 200: OrderHistorySchema, ...problems(401, 404) },
      detail: { tags, summary: 'The status history of an order, oldest first', security: bearerAuth },
    })
    .post(
      '/orders/:id/confirm',
      async ({ params, requireUser }) => confirmOrder(deps.db, await requireUser('seller'), params.id),
      {
        params: IdParamsSchema,
        response: { 200: OrderSchema, ...problems(401, 403, 404, 409) },
        detail: { tags, summary: 'Confirm an order: created → confirmed (seller user)', security: bearerAuth },
      },
    )
    .post(
      '/orders/:id/dispatch',
      async ({ params, request, requireUser }) =>
        dispatchOrder(deps.db, deps.deliveryClient, await requireUser('seller'), params.id, { requestId: requestIdOf(request) }, deps.logger, {
          leaseMs: dispatchLeaseMs(deps.config.DELIVERY_TIMEOUT_MS),
        }),
      {
        params: IdParamsSchema,
        response: { 200: OrderSchema, ...problems(401, 403, 404, 409, 502, 503, 504) },
        detail: {
          tags,
          summary: 'Dispatch an order: confirmed → dispatched (seller user)',
          description:
            'Creates the delivery on the delivery service first; when that fails (502, 503, 504) the order stays confirmed and a retry is safe: ' +
            'the delivery is created once per order, so a retry (or a second click) reuses it, and a dispatch that finds the order already ' +
            'dispatched with that same delivery answers the order (200). 409 `invalid-transition` unless the order is confirmed; ' +
            '409 `cancel-in-progress` (with `Retry-After`) while a cancel is withdrawing its delivery.',
          security: bearerAuth,
        },
      },
    )
    .post(
      '/orders/:id/cancel',
      async ({ params, request, requireUser }) =>
        cancelOrder(deps.db, deps.deliveryClient, await requireUser('admin', 'customer'), params.id, { requestId: requestIdOf(request) }, {
          leaseMs: dispatchLeaseMs(deps.config.DELIVERY_TIMEOUT_MS),
        }),
      {
        params: IdParamsSchema,
        response: { 200: OrderSchema, ...problems(401, 403, 404, 409, 502, 503, 504) },
        detail: {
          tags,
          summary:
            'Cancel an order and restore its stock (customer: own, while created or dispatched before pick-up; admin: created, confirmed, or dispatched before pick-up)',
          description:
            "A dispatched order's delivery is withdrawn from the delivery service first, then the order is cancelled and its stock " +
            'restored, all or nothing. 409 `already-picked-up` once the parcel left READY_FOR_PICK_UP; 409 `invalid-transition` ' +
            'for a delivered (or already cancelled) order; 409 `dispatch-in-progress` (with `Retry-After`) while a dispatch of the ' +
            'order is under way (or one timed out moments ago and may still create the delivery); 409 `cancel-in-progress` while ' +
            'another cancel is withdrawing the delivery; 502/503/504 when the delivery service fails, and then nothing changes.',
          security: bearerAuth,
        },
      },
    )
    .get(
      '/orders/:id/tracking',
      async ({ params, request, requireUser }) =>
        getOrderTracking(deps.db, deps.deliveryClient, await requireUser(), params.id, { requestId: requestIdOf(request) }),
      {
        params: IdParamsSchema,
        response: { 200: TrackingResponseSchema, ...problems(401, 404, 409, 502, 503, 504) },
        detail: {
          tags,
          summary: "The order's tracking history from the delivery service; 409 `not-dispatched` before dispatch",
          security: bearerAuth,
        },
      },
    )
