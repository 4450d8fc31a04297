import { listOf, NoContentSchema, PaginationQuerySchema } from '@logistics/shared'
import { locationHeader } from '@logistics/shared/http/openapi'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { authPlugin } from '../auth/plugin'
import { assertAllowedDestination } from './destination'
import {
  AttemptSchema,
  RecoveredSchema,
  RecoverWebhookSchema,
  RegisterWebhookSchema,
  WebhookIdParams,
  WebhookSchema,
  WebhookSummarySchema,
} from './model'
import { deleteWebhook, findWebhook, listAttempts, listWebhooks, recoverWebhookEvents, registerWebhook } from './service'

const detail = (operationId: string, summary: string, description?: string) => ({ tags: ['webhooks'], operationId, summary, description })

export function webhookRoutes(deps: AppDeps) {
  const { db, webhookDestinations: destinations } = deps
  return new Elysia({ name: 'webhooks' })
    .use(authPlugin(deps))
    .post(
      '/webhooks',
      async ({ body, client, set }) => {
        await assertAllowedDestination(body.url, destinations)
        const { created, webhook } = await registerWebhook(db, client.id, body)
        set.status = created ? 201 : 200
        set.headers.location = `/webhooks/${webhook.id}`
        return webhook
      },
      {
        apiKey: true,
        body: RegisterWebhookSchema,
        response: { 200: WebhookSchema, 201: WebhookSchema },
        detail: {
          responses: {
            200: { description: 'The existing webhook of this url (its secret rotated when another was given)', headers: locationHeader },
          },
          ...detail(
            'registerWebhook',
            'Register a webhook',
            'Every status change of your deliveries is POSTed to `url`, signed per Standard Webhooks with `secret` (generated `whsec_…` when not given; a given one is `whsec_` + base64 of 24–64 random bytes), retried with backoff until a 2xx. ' +
              'The same url and secret again (or no secret) answers 200 with the existing webhook. ' +
              'The same url with another secret rotates its secret in place (200): pending events are kept and sent with the new secret; ' +
              'for 24 hours after a rotation every event carries two signatures (`webhook-signature: v1,<new> v1,<old>`), so a receiver still on the old secret verifies too.',
          ),
        },
      },
    )
    .get('/webhooks', ({ query, client }) => listWebhooks(db, client.id, query), {
      apiKey: true,
      query: PaginationQuerySchema,
      response: { 200: listOf(WebhookSummarySchema) },
      detail: detail('listWebhooks', 'List your webhooks'),
    })
    .get('/webhooks/:id', ({ params, client }) => findWebhook(db, client.id, params.id), {
      apiKey: true,
      params: WebhookIdParams,
      response: { 200: WebhookSchema },
      detail: detail('getWebhook', 'View a webhook (with its secret)'),
    })
    .delete(
      '/webhooks/:id',
      async ({ params, client, set }) => {
        await deleteWebhook(db, client.id, params.id)
        set.status = 204
      },
      {
        apiKey: true,
        params: WebhookIdParams,
        response: { 204: NoContentSchema },
        detail: detail('deleteWebhook', 'Remove a webhook and its pending events'),
      },
    )
    .get('/webhooks/:id/attempts', ({ params, query, client }) => listAttempts(db, client.id, params.id, query), {
      apiKey: true,
      params: WebhookIdParams,
      query: PaginationQuerySchema,
      response: { 200: listOf(AttemptSchema) },
      detail: detail('listWebhookAttempts', 'The delivery log of a webhook, newest attempt first'),
    })
    .post(
      '/webhooks/:id/recover',
      async ({ params, body, client, set }) => {
        const recovered = await recoverWebhookEvents(db, client.id, params.id, body.since)
        set.status = 202
        return { recovered }
      },
      {
        apiKey: true,
        params: WebhookIdParams,
        body: RecoverWebhookSchema,
        response: { 202: RecoveredSchema },
        detail: detail(
          'recoverWebhookEvents',
          'Re-send the events given up since a date',
          'An event not acknowledged with a 2xx within 24 hours of its creation is given up (marked failed) and no longer retried. ' +
            'This puts every given-up event of the webhook created at or after `since` back in the queue, oldest first, each once ' +
            '(a second recover does not send them twice; events still being retried are untouched), with a new 24-hour window. ' +
            'Answers 202 with how many were re-queued; a `since` in the future re-queues none (0). Their new attempts appear in the attempt log.',
        ),
      },
    )
}
