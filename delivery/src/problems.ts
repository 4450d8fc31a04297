import { COMMON_PROBLEMS, DeliveryStatusSchema, Integer, type ProblemCatalog, problemResponses } from '@logistics/shared'
import * as v from 'valibot'

/**
 * The error codes of the delivery service beyond the common ones (COMMON_PROBLEMS): one table that
 * feeds the OpenAPI document (each operation lists its codes, with these examples) and the pages
 * at `GET /problems/{code}` (where a problem's `type` points).
 */
export const DELIVERY_PROBLEMS = {
  'delivery-exists': {
    status: 409,
    description:
      'This API client already has a delivery for `order.foreign_order_id` with other details (the same body again answers 200 with it). `tracking_number` names it.',
    example: {
      detail: 'A delivery for order ORD-2025-000123 already exists with other details (tracking number TRK-7Q2M-9XKD-4HBT)',
      tracking_number: 'TRK-7Q2M-9XKD-4HBT',
    },
    extensions: { tracking_number: v.string() },
  },
  'delivery-final': {
    status: 409,
    description: 'The delivery is DELIVERED and can no longer be edited.',
    example: { detail: 'Delivery TRK-7Q2M-9XKD-4HBT is DELIVERED and can no longer be edited', current_status: 'DELIVERED' },
    extensions: { current_status: DeliveryStatusSchema },
  },
  'already-picked-up': {
    status: 409,
    description: 'The parcel left READY_FOR_PICK_UP (`current_status` says where it is): it can no longer be withdrawn.',
    example: {
      detail: 'Delivery TRK-7Q2M-9XKD-4HBT is IN_ORIGIN: the parcel was picked up and can no longer be withdrawn',
      current_status: 'IN_ORIGIN',
    },
    extensions: { current_status: DeliveryStatusSchema },
  },
  'too-many-subscriptions': {
    status: 409,
    description:
      'This API client already has `limit` webhooks (`WEBHOOK_SUBSCRIPTIONS_PER_CLIENT`) and the url is a new one: delete one (`DELETE /webhooks/{id}`) first. Re-registering a url it has never counts.',
    example: {
      detail: 'A client may have at most 10 webhooks; delete one (DELETE /webhooks/{id}) before registering another',
      limit: 10,
    },
    extensions: { limit: Integer },
  },
  'webhook-disabled': {
    status: 409,
    description:
      'The webhook is disabled (after a long run of failures): nothing would be sent. Enable it (`POST /webhooks/{id}/enable`), then recover.',
    example: {
      detail:
        'Webhook 5b0e7c3a-9d41-4f2e-8a6b-1c7d2e9f0a34 is disabled: enable it (POST /webhooks/5b0e7c3a-9d41-4f2e-8a6b-1c7d2e9f0a34/enable), then recover',
    },
  },
  'too-many-requests': {
    status: 429,
    description:
      'Too many tracking lookups from this address (the public tracking page and its status share one allowance per client address; a number that shows no parcel costs ten times one that does): wait `Retry-After` seconds.',
    example: { detail: 'Too many tracking lookups from this address; try again in 9 s' },
    retryAfter: true,
  },
} as const satisfies ProblemCatalog

/** The problem responses a route answers beyond those of its kind (see `problemResponses`). */
export const problems = problemResponses({ ...COMMON_PROBLEMS, ...DELIVERY_PROBLEMS })
