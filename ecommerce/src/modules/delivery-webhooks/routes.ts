import { HttpProblem, unauthorized, verifyWebhook, WebhookEventSchema, webhookHeadersRefusal } from '@logistics/shared'
import { bodyRefusalOf, rawBodyOf } from '@logistics/shared/http/body'
import { fieldErrors } from '@logistics/shared/http/errors'
import { WEBHOOK_HEADER_PARAMETERS } from '@logistics/shared/http/openapi'
import { Elysia } from 'elysia'
import * as v from 'valibot'
import type { AppDeps } from '../../context'
import { problems } from '../common'
import { applyDeliveryEvent } from './service'

const invalidWebhook = (reason: string) => unauthorized(`Invalid webhook: ${reason}`, 'invalid-webhook-signature')

/**
 * The webhook's credentials that need no body, for `jsonBody`'s `beforeBody`: without the three
 * Standard Webhooks headers, or with a timestamp out of tolerance, the body is never read (401).
 */
export const deliveryWebhookBeforeBody = {
  'POST /webhooks/delivery': (request: Request) => {
    const reason = webhookHeadersRefusal(request.headers)
    return reason ? invalidWebhook(reason) : undefined
  },
}

export const deliveryWebhooksRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'delivery-webhooks' }).post(
    '/webhooks/delivery',
    async ({ request, body, status }) => {
      // The headers were checked before the body was read (deliveryWebhookBeforeBody). The
      // signature covers the exact bytes sent: the raw text kept by jsonBody. A body that was not
      // read (refused headers: 401; over the limit: 413; the process busy: 503) has no signature
      // to check: its refusal comes first. Once signed, the body's own refusals (415 not JSON,
      // 400 malformed or too deep, 422 text PostgreSQL cannot store), then the event's fields.
      const raw = rawBodyOf(request)
      const unread = raw === undefined ? bodyRefusalOf(request) : undefined
      if (unread) throw unread
      const verified = verifyWebhook(deps.config.WEBHOOK_SECRET, request.headers, raw ?? '')
      if (!verified.ok) throw invalidWebhook(verified.reason)
      const refused = bodyRefusalOf(request)
      if (refused) throw refused
      const parsed = v.safeParse(WebhookEventSchema, body)
      if (!parsed.success)
        throw new HttpProblem(422, 'validation-failed', 'The webhook event has invalid fields', { errors: fieldErrors(parsed.issues) })
      const webhookId = request.headers.get('webhook-id')!
      const outcome = await applyDeliveryEvent(deps.db, webhookId, parsed.output, deps.logger, { client: deps.deliveryClient })
      deps.metrics.deliveryEvent(outcome)
      deps.logger.info('delivery event received', {
        webhook_id: webhookId,
        order_id: parsed.output.data.foreign_order_id,
        status: parsed.output.data.status,
        outcome,
      })
      return status(204, undefined)
    },
    {
      response: {
        204: v.undefined(),
        ...problems(
          'invalid-webhook-signature',
          'body-too-large',
          'request-bodies-busy',
          'unsupported-media-type',
          'malformed-body',
          'body-too-deep',
          'validation-failed',
          'event-date-in-future',
          'order-not-ready',
        ),
      },
      detail: {
        tags: ['webhooks'],
        operationId: 'receiveDeliveryEvent',
        // The body is read raw (its signature covers the exact bytes): documented, not a route schema.
        requestBody: { required: true, content: { 'application/json': { schema: WebhookEventSchema as never } } },
        parameters: WEBHOOK_HEADER_PARAMETERS as never,
        summary: 'Receive a delivery status change from the delivery service (Standard Webhooks signed)',
        description:
          'Verifies `webhook-signature` over `webhook-id.webhook-timestamp.body` with WEBHOOK_SECRET (401 otherwise, also for a timestamp over 5 minutes off). ' +
          'A repeated `webhook-id` changes nothing. An event applies only to the order whose delivery has its tracking number: ' +
          'one for an unknown or cancelled order, an order never dispatched, or another tracking number is acknowledged (204), logged and ignored. ' +
          'An event for a `confirmed` order whose dispatch is still in flight (no tracking number stored yet), or whose dispatched delivery a cancel is withdrawing, answers 503 `order-not-ready` with `Retry-After`, so it is sent again. ' +
          'Once no dispatch call is in flight (its answer was lost: a crash, a timeout, a reset), the event first settles that dispatch (the delivery service is asked which delivery the order has; the order becomes dispatched with it), then applies; ' +
          'an event for a confirmed order never dispatched (the seller never asked to ship it) is acknowledged and ignored, and a later dispatch adopts that delivery. ' +
          'An event never moves the delivery status back: the status progression decides (READY_FOR_PICK_UP → IN_ORIGIN → IN_ROUTE_OF_DELIVERY/NOT_DELIVERED → DELIVERED, final), ' +
          'the event date only within the IN_ROUTE_OF_DELIVERY ↔ NOT_DELIVERED loop; a date more than 5 minutes ahead of this clock answers 422 `event-date-in-future`. Answers 204.',
      },
    },
  )
