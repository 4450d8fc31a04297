import { Elysia } from 'elysia'
import * as v from 'valibot'
import { HttpProblem, WebhookEventSchema, badRequest, unauthorized, verifyWebhook } from '@logistics/shared'
import { fieldErrors } from '@logistics/shared/http/errors'
import { valibotToJsonSchema } from '@logistics/shared/http/openapi'
import type { AppDeps } from '../../context'
import { problems } from '../common'
import { applyDeliveryEvent } from './service'

export const deliveryWebhooksRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'delivery-webhooks' }).post(
    '/webhooks/delivery',
    async ({ body, request, status }) => {
      // The signature covers the exact bytes sent, so the body is parsed as text, then as JSON.
      const raw = typeof body === 'string' ? body : ''
      const verified = verifyWebhook(deps.config.WEBHOOK_SECRET, request.headers, raw)
      if (!verified.ok) throw unauthorized(`Invalid webhook: ${verified.reason}`, 'invalid-webhook-signature')
      let json: unknown
      try {
        json = JSON.parse(raw)
      } catch {
        throw badRequest('The body is not valid JSON', 'malformed-body')
      }
      const parsed = v.safeParse(WebhookEventSchema, json)
      if (!parsed.success)
        throw new HttpProblem(422, 'validation-failed', 'The webhook event has invalid fields', { errors: fieldErrors(parsed.issues) })
      const webhookId = request.headers.get('webhook-id')!
      const outcome = await applyDeliveryEvent(deps.db, webhookId, parsed.output, deps.logger)
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
      parse: 'text',
      response: { 204: v.undefined(), ...problems(400, 401, 422) },
      detail: {
        tags: ['webhooks'],
        requestBody: { required: true, content: { 'application/json': { schema: valibotToJsonSchema(WebhookEventSchema) as never } } },
        parameters: ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => ({ name, in: 'header', required: true, schema: { type: 'string' } })),
        summary: 'Receive a delivery status change from the delivery service (Standard Webhooks signed)',
        description:
          'Verifies `webhook-signature` over `webhook-id.webhook-timestamp.body` with WEBHOOK_SECRET (401 otherwise, also for a timestamp over 5 minutes off). ' +
          'A repeated `webhook-id` changes nothing; older events than the one applied are ignored; an unknown order is acknowledged. Answers 204.',
      },
    },
  )
