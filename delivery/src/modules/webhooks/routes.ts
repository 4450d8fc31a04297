import { listOf, NoContentSchema, PaginationQuerySchema } from '@logistics/shared'
import { locationHeader } from '@logistics/shared/http/openapi'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { problems } from '../../problems'
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
import { recoverWebhookEvents } from './recover'
import { deleteWebhook, enableWebhook, findWebhook, listAttempts, listWebhooks, registerWebhook } from './service'

const detail = (operationId: string, summary: string, description?: string) => ({ tags: ['webhooks'], operationId, summary, description })
const SHARING =
  'Sending is shared fairly: each webhook has a bounded share of the sends in flight, and one that is slow or down never delays the others (docs/webhooks.md).'

export function webhookRoutes(deps: AppDeps) {
  const { db, webhookDestinations: destinations, config } = deps
  return new Elysia({ name: 'webhooks' })
    .use(authPlugin(deps))
    .post(
      '/webhooks',
      async ({ body, client, set }) => {
        await assertAllowedDestination(body.url, destinations)
        const { created, webhook } = await registerWebhook(db, client.id, body, config.WEBHOOK_SUBSCRIPTIONS_PER_CLIENT)
        set.status = created ? 201 : 200
        set.headers.location = `/webhooks/${webhook.id}`
        return webhook
      },
      {
        apiKey: true,
        body: RegisterWebhookSchema,
        response: { 200: WebhookSchema, 201: WebhookSchema, ...problems('too-many-subscriptions') },
        detail: {
          responses: {
            200: {
              description:
                'The existing webhook of this url (its secret rotated when another was given; enabled again when it was disabled)',
              headers: locationHeader,
            },
          },
          ...detail(
            'registerWebhook',
            'Register a webhook',
            'Every status change of your deliveries is POSTed to `url`, signed per Standard Webhooks with `secret` (generated `whsec_…` when not given; a given one is `whsec_` + base64 of 24–64 random bytes), retried with backoff until a 2xx. ' +
              'The same url and secret again (or no secret) answers 200 with the existing webhook. ' +
              'The same url with another secret rotates its secret in place (200): pending events are kept and sent with the new secret; ' +
              'for 24 hours after a rotation every event carries two signatures (`webhook-signature: v1,<new> v1,<old>`), so a receiver still on the old secret verifies too. ' +
              'Registering the url of a disabled webhook enables it again (200); that of a failing one has it tried at once. ' +
              'A client has at most `WEBHOOK_SUBSCRIPTIONS_PER_CLIENT` webhooks (default 10): a new url beyond that answers 409 `too-many-subscriptions` (re-registering an existing url never counts). ' +
              SHARING,
          ),
        },
      },
    )
    .get('/webhooks', ({ query, client }) => listWebhooks(db, client.id, query), {
      apiKey: true,
      query: PaginationQuerySchema,
      response: { 200: listOf(WebhookSummarySchema) },
      detail: detail(
        'listWebhooks',
        'List your webhooks, with each endpoint’s state',
        '`state` is `active`, `failing` (one probe at a time until it answers) or `disabled` (after a long run of failures), with `consecutive_failures`, `last_error` and `disabled_at`.',
      ),
    })
    .get('/webhooks/:id', ({ params, client }) => findWebhook(db, client.id, params.id), {
      apiKey: true,
      params: WebhookIdParams,
      response: { 200: WebhookSchema },
      detail: detail('getWebhook', 'View a webhook (with its secret and its endpoint’s state)'),
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
        detail: detail(
          'deleteWebhook',
          'Remove a webhook and its history',
          'Answers 204 at once, whatever the history: the webhook is gone from lists, lookups and sending immediately, no longer counts toward the limit, and its url can be registered again. ' +
            'Its events and attempt log are removed in the background.',
        ),
      },
    )
    .post(
      '/webhooks/:id/enable',
      async ({ params, client }) => {
        const webhook = await enableWebhook(db, client.id, params.id)
        deps.notifyWebhooks?.()
        return webhook
      },
      {
        apiKey: true,
        params: WebhookIdParams,
        response: { 200: WebhookSchema },
        detail: detail(
          'enableWebhook',
          'Enable a disabled (or failing) webhook again',
          'Sets `state` to `active` and tries the endpoint at once at full rate; idempotent (200). Events written while it was disabled were given up: ' +
            're-send them with POST /webhooks/{id}/recover.',
        ),
      },
    )
    .get('/webhooks/:id/attempts', ({ params, query, client }) => listAttempts(db, client.id, params.id, query), {
      apiKey: true,
      params: WebhookIdParams,
      query: PaginationQuerySchema,
      response: { 200: listOf(AttemptSchema) },
      detail: detail(
        'listWebhookAttempts',
        'The delivery log of a webhook, newest attempt first',
        'Attempts are kept `WEBHOOK_RETENTION_DAYS` (default 30) days.',
      ),
    })
    .post(
      '/webhooks/:id/recover',
      async ({ params, body, client, set }) => {
        const recovered = await recoverWebhookEvents(db, client.id, params.id, body.since)
        if (recovered > 0) deps.notifyWebhooks?.()
        set.status = 202
        return { recovered }
      },
      {
        apiKey: true,
        params: WebhookIdParams,
        body: RecoverWebhookSchema,
        response: { 202: RecoveredSchema, ...problems('webhook-disabled') },
        detail: detail(
          'recoverWebhookEvents',
          'Re-send the events given up since a date',
          'An event not acknowledged with a 2xx within 24 hours of its creation is given up (marked failed) and no longer retried; so is every event of a webhook while it is disabled. ' +
            'This puts every given-up event of the webhook created at or after `since` back in the queue, oldest first, each once ' +
            '(a second recover does not send them twice; events still being retried are untouched), with a new 24-hour window; ' +
            'never the events of a delivery that was withdrawn (DELETE /deliveries/{tracking_number}). ' +
            'Given-up events are kept `WEBHOOK_RETENTION_DAYS` (default 30) days from their creation: older ones cannot be recovered. ' +
            'Answers 202 with how many were re-queued; a `since` in the future re-queues none (0); 409 `webhook-disabled` while the webhook is disabled (enable it first). Their new attempts appear in the attempt log.',
        ),
      },
    )
}
