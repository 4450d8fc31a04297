import * as v from 'valibot'
import { PaginationQuerySchema, WebhookSecretSchema } from '@logistics/shared'

export const RegisterWebhookSchema = v.object({
  url: v.pipe(
    v.string('url must be a string'),
    v.trim(),
    v.maxLength(2000, 'url must be at most 2000 characters'),
    v.url('url must be an absolute URL'),
    v.check((u) => /^https?:\/\//i.test(u), 'url must be http or https'),
  ),
  secret: v.optional(WebhookSecretSchema),
})

export const WebhookSchema = v.object({
  id: v.string(),
  url: v.string(),
  secret: v.string(),
  created_at: v.string(),
})
export type Webhook = v.InferOutput<typeof WebhookSchema>

export const WebhookSummarySchema = v.omit(WebhookSchema, ['secret'])

export const WebhookIdParams = v.object({ id: v.pipe(v.string(), v.uuid()) })

export const AttemptSchema = v.object({
  id: v.number(),
  event_id: v.string(),
  status_code: v.nullable(v.number()),
  error: v.nullable(v.string()),
  duration_ms: v.number(),
  attempted_at: v.string(),
})

export const AttemptsQuery = PaginationQuerySchema
