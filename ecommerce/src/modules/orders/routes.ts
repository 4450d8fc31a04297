import { listOf, TrackingResponseSchema } from '@logistics/shared'
import { requestIdOf } from '@logistics/shared/http/request-id'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { authPlugin } from '../auth/plugin'
import { IdParamsSchema, problems } from '../common'
import { cancelOrder } from './cancel'
import { dispatchOrder } from './dispatch'
import { OrderHistorySchema, OrderListQuerySchema, OrderSchema } from './model'
import { confirmOrder, dispatchLeaseMs, getOrder, getOrderHistory, getOrderTracking, listOrders } from './service'

const tags = ['orders']

export const ordersRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'orders' })
    .use(authPlugin(deps))
    .get('/orders', ({ query, user }) => listOrders(deps.db, user, query), {
      auth: true,
      query: OrderListQuerySchema,
      response: { 200: listOf(OrderSchema) },
      detail: {
        tags,
        operationId: 'listOrders',
        summary: "List orders (admin: all; seller user: its seller's; customer: its own); filter by `status`",
      },
    })
    .get('/orders/:id', ({ params, user }) => getOrder(deps.db, user, params.id), {
      auth: true,
      params: IdParamsSchema,
      response: { 200: OrderSchema },
      detail: { tags, operationId: 'getOrder', summary: 'View an order' },
    })
    .get('/orders/:id/history', ({ params, user }) => getOrderHistory(deps.db, user, params.id), {
      auth: true,
      params: IdParamsSchema,
      response: { 200: OrderHistorySchema },
      detail: { tags, operationId: 'getOrderHistory', summary: 'The status history of an order, oldest first' },
    })
    .post('/orders/:id/confirm', ({ params, user }) => confirmOrder(deps.db, user, params.id), {
      role: ['seller'],
      params: IdParamsSchema,
      response: { 200: OrderSchema, ...problems('invalid-transition') },
      detail: { tags, operationId: 'confirmOrder', summary: 'Confirm an order: created → confirmed (seller user)' },
    })
    .post(
      '/orders/:id/dispatch',
      ({ params, request, user }) =>
        dispatchOrder(deps.db, user, params.id, {
          client: deps.deliveryClient,
          call: { requestId: requestIdOf(request) },
          logger: deps.logger,
          leaseMs: dispatchLeaseMs(deps.config.DELIVERY_TIMEOUT_MS),
        }),
      {
        role: ['seller'],
        params: IdParamsSchema,
        response: {
          200: OrderSchema,
          ...problems(
            'invalid-transition',
            'dispatch-in-progress',
            'cancel-in-progress',
            'delivery-conflict',
            'delivery-failed',
            'delivery-timeout',
            'delivery-unavailable',
            'delivery-bad-response',
          ),
        },
        detail: {
          tags,
          operationId: 'dispatchOrder',
          summary: 'Dispatch an order: confirmed → dispatched (seller user)',
          description:
            'Creates the delivery on the delivery service first; when that fails (502, 503, 504) the order stays confirmed and a retry is safe: ' +
            'the delivery is created once per order, so a retry (or a second click) reuses it, and a dispatch that finds the order already ' +
            'dispatched with that same delivery answers the order (200). 409 `invalid-transition` unless the order is confirmed; ' +
            '409 `cancel-in-progress` (with `Retry-After`) while a cancel is withdrawing its delivery. A dispatch whose answer was lost ' +
            '(the process stopped, the call timed out or its connection was reset) is settled after its lease by asking the delivery ' +
            'service: the order ends dispatched with the delivery it holds (delivered if already DELIVERED), or stays confirmed, to be ' +
            'dispatched again, when none exists. A job does it every 15 s; the first event of that delivery does it at once.',
        },
      },
    )
    .post(
      '/orders/:id/cancel',
      ({ params, request, user }) =>
        cancelOrder(deps.db, user, params.id, {
          client: deps.deliveryClient,
          call: { requestId: requestIdOf(request) },
          leaseMs: dispatchLeaseMs(deps.config.DELIVERY_TIMEOUT_MS),
        }),
      {
        role: ['admin', 'customer'],
        params: IdParamsSchema,
        response: {
          200: OrderSchema,
          ...problems(
            'already-picked-up',
            'invalid-transition',
            'dispatch-in-progress',
            'cancel-in-progress',
            'delivery-failed',
            'delivery-timeout',
            'delivery-unavailable',
            'delivery-bad-response',
          ),
        },
        detail: {
          tags,
          operationId: 'cancelOrder',
          summary:
            'Cancel an order and restore its stock (customer: own, while created or dispatched before pick-up; admin: created, confirmed, or dispatched before pick-up)',
          description:
            "A dispatched order's delivery is withdrawn from the delivery service first, then the order is cancelled and its stock " +
            'restored, all or nothing. 409 `already-picked-up` once the parcel left READY_FOR_PICK_UP; 409 `invalid-transition` ' +
            'for a delivered (or already cancelled) order; 409 `dispatch-in-progress` (with `Retry-After`) while a dispatch of the ' +
            'order is under way (or one timed out moments ago and may still create the delivery); 409 `cancel-in-progress` while ' +
            'another cancel is withdrawing the delivery; 502/503/504 when the delivery service fails, and then nothing changes here. ' +
            'After a 503/504 the withdrawal may still have happened: repeat the cancel, or within a few minutes the service asks the ' +
            'delivery service itself and cancels the order if its delivery is gone.',
        },
      },
    )
    .get(
      '/orders/:id/tracking',
      ({ params, request, user }) => getOrderTracking(deps.db, deps.deliveryClient, user, params.id, { requestId: requestIdOf(request) }),
      {
        auth: true,
        params: IdParamsSchema,
        response: {
          200: TrackingResponseSchema,
          ...problems('not-dispatched', 'delivery-failed', 'delivery-timeout', 'delivery-unavailable', 'delivery-bad-response'),
        },
        detail: {
          tags,
          operationId: 'getOrderTracking',
          summary: "The order's tracking history from the delivery service; 409 `not-dispatched` before dispatch",
        },
      },
    )
