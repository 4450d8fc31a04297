import {
  COMMON_PROBLEMS,
  Integer,
  named,
  OrderStatusSchema,
  type ProblemCatalog,
  ProblemSchema,
  problemResponses,
  UuidString,
} from '@logistics/shared'
import * as v from 'valibot'

/**
 * The error codes of the ecommerce service beyond the common ones (COMMON_PROBLEMS): one table that
 * feeds the OpenAPI document (each operation lists its codes, with these examples) and the pages
 * at `GET /problems/{code}` (where a problem's `type` points).
 */

const InsufficientStockProblemSchema = named(
  'InsufficientStockProblem',
  v.looseObject({
    ...ProblemSchema.entries,
    products: v.pipe(
      v.array(v.object({ product_id: UuidString, sku: v.string(), requested: Integer, available: Integer })),
      v.description('Each short product (sku and id), the quantity asked for and the quantity in stock'),
    ),
  }),
)

const orderStatus = { current_status: OrderStatusSchema }
const upstream = { upstream_status: Integer }

export const ECOMMERCE_PROBLEMS = {
  'email-taken': {
    status: 409,
    description: 'The email is registered already (or listed twice in one request); nothing was created. Emails are compared lower-cased.',
    example: { detail: 'The email carla@example.com is already registered', email: 'carla@example.com' },
    extensions: { email: v.string() },
  },
  'sku-taken': {
    status: 409,
    description: 'The seller already has a product with this sku.',
    example: { detail: 'This seller already has a product with sku NK-KETTLE', sku: 'NK-KETTLE' },
    extensions: { sku: v.string() },
  },
  'warehouse-address-required': {
    status: 409,
    description: 'The seller has no warehouse address, where its parcels are picked up: set it with `PATCH /sellers/{id}` first.',
    example: { detail: 'Set the warehouse address of the seller (PATCH /sellers/{id}) before creating products' },
  },
  'insufficient-stock': {
    status: 409,
    description: 'One or more products of the purchase are short; `products` names each. Nothing was bought.',
    example: {
      detail: 'Not enough stock for NK-KETTLE (requested 3, available 1); nothing was bought',
      products: [{ product_id: '3f1c2a9e-5b7d-4e21-9c0a-6d8e2f4b1a73', sku: 'NK-KETTLE', requested: 3, available: 1 }],
    },
    schema: InsufficientStockProblemSchema,
  },
  'idempotency-key-reused': {
    status: 409,
    description: 'This `Idempotency-Key` was used for a purchase with another body: use a new key for a new purchase.',
    example: { detail: 'This Idempotency-Key was used for a different purchase' },
  },
  'idempotency-key-in-use': {
    status: 409,
    description: "A purchase with this `Idempotency-Key` is still in progress: retry shortly, and the first one's result is answered.",
    example: { detail: 'A request with this Idempotency-Key is in progress; retry' },
  },
  'invalid-transition': {
    status: 409,
    description: 'The order is not in a status this action applies to (`current_status` says where it is).',
    example: { detail: 'The order is created; it cannot be dispatched', current_status: 'created' },
    extensions: orderStatus,
  },
  'dispatch-in-progress': {
    status: 409,
    description:
      'A dispatch of the order is under way (or one timed out moments ago and may still create the delivery): retry after `Retry-After` seconds.',
    example: { detail: 'The order is being dispatched right now; try again in 12 s', current_status: 'confirmed' },
    extensions: orderStatus,
    retryAfter: true,
  },
  'cancel-in-progress': {
    status: 409,
    description: "A cancel is withdrawing the order's delivery right now: retry after `Retry-After` seconds.",
    example: { detail: 'The order is being cancelled right now; try again in 8 s', current_status: 'dispatched' },
    extensions: orderStatus,
    retryAfter: true,
  },
  'already-picked-up': {
    status: 409,
    description: 'The parcel left READY_FOR_PICK_UP: the order can no longer be cancelled.',
    example: {
      detail: 'The parcel was already picked up (it is IN_ORIGIN); the order can no longer be cancelled',
      current_status: 'dispatched',
      delivery_status: 'IN_ORIGIN',
    },
    extensions: orderStatus,
  },
  'not-dispatched': {
    status: 409,
    description: 'The order has no delivery yet (it was never dispatched): there is no tracking history.',
    example: { detail: 'The order is confirmed and has no delivery yet', current_status: 'confirmed' },
    extensions: orderStatus,
  },
  'too-many-login-attempts': {
    status: 429,
    description:
      'Too many failed logins for this account or from this address: wait `Retry-After` seconds (each lock doubles, up to an hour).',
    example: { detail: 'Too many failed logins for this account or from this address; try again in 60 s' },
    retryAfter: true,
  },
  'too-many-registrations': {
    status: 429,
    description: 'Too many registrations from this address in the window: wait `Retry-After` seconds.',
    example: { detail: 'Too many registrations from this address; try again in 840 s' },
    retryAfter: true,
  },
  'too-many-purchases': {
    status: 429,
    description:
      'This customer already has the most purchases in progress at once: wait for one to finish (`Retry-After`). Nothing changed.',
    example: { detail: 'You have 4 purchases in progress; wait for one to finish before sending another' },
    retryAfter: true,
  },
  'purchases-busy': {
    status: 503,
    description: 'Too many purchases are waiting for their turn: retry after `Retry-After` seconds. Nothing changed.',
    example: { detail: 'Too many purchases are waiting right now; retry shortly' },
    retryAfter: true,
  },
  'delivery-unavailable': {
    status: 503,
    description: 'The delivery service is down or unavailable itself: nothing was changed here; retry after `Retry-After` seconds.',
    example: { detail: 'The delivery service is unavailable (create delivery); nothing was changed' },
    retryAfter: true,
  },
  'delivery-failed': {
    status: 502,
    description: 'The delivery service answered an error (`upstream_status` when it answered at all): nothing was changed here.',
    example: { detail: 'The delivery service answered 500 (create delivery); nothing was changed', upstream_status: 500 },
  },
  'delivery-timeout': {
    status: 504,
    description:
      'The delivery service did not answer in time. A retry is safe: a dispatch creates one delivery per order, a cancel re-checks.',
    example: { detail: 'The delivery service did not answer in time (create delivery); nothing was changed' },
  },
  'delivery-bad-response': {
    status: 502,
    description: 'The delivery service answered something this service does not understand.',
    example: { detail: 'The delivery service gave an unexpected answer (tracking)' },
  },
  'delivery-conflict': {
    status: 502,
    description: 'The delivery service already holds a different delivery for this order (its 409); nothing was changed here.',
    example: {
      detail: 'The delivery service already has a different delivery for this order (409); nothing was changed here',
      upstream_status: 409,
    },
    extensions: upstream,
  },
  'invalid-webhook-signature': {
    status: 401,
    description:
      'The webhook is not signed with WEBHOOK_SECRET per Standard Webhooks, a header is missing, or its timestamp is more than 5 minutes off.',
    example: { detail: 'Invalid webhook: no signature matches' },
  },
  'order-not-ready': {
    status: 503,
    description:
      'The event is for an order that does not know its tracking number yet: its dispatch call is still in flight, a cancel is withdrawing its delivery, or its interrupted dispatch could not be settled just now (the delivery service did not answer). Nothing was recorded: send the event again after `Retry-After` seconds.',
    example: {
      detail:
        'Order 8a6e0d52-31c4-4f7b-b2f4-0c9d7e1a5b36 is being dispatched and does not know its tracking number yet; send the event again shortly',
    },
    retryAfter: true,
  },
  'event-date-in-future': {
    status: 422,
    description: "The event's date is more than 5 minutes ahead of this service's clock; it is accepted once it no longer is.",
    example: {
      detail:
        "The event date 2030-01-01T00:00:00.000Z is more than 300 s ahead of this service's clock; it is accepted once it no longer is",
    },
  },
} as const satisfies ProblemCatalog

/** The problem responses a route answers beyond those of its kind (see `problemResponses`). */
export const problems = problemResponses({ ...COMMON_PROBLEMS, ...ECOMMERCE_PROBLEMS })
