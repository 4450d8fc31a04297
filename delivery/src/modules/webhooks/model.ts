import { UuidSchema, WebhookSecretSchema } from '@logistics/shared'
import * as v from 'valibot'
import { ENDPOINT_RULE } from './endpoints'

const DISABLE_HOURS = ENDPOINT_RULE.disableAfterMs / 3_600_000

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

export const WebhookSummarySchema = v.object({
  id: v.string(),
  url: v.string(),
  created_at: v.string(),
  state: v.pipe(
    v.picklist(['active', 'failing', 'disabled']),
    v.description(
      '`active`: sent to at full rate. `failing`: its last attempt failed; one event at a time is tried (a probe) on a backoff until it answers 2xx. ' +
        `\`disabled\`: it failed ${ENDPOINT_RULE.disableAfterFailures} attempts in a row over at least ${DISABLE_HOURS} hours: ` +
        'nothing is sent, new events are kept as given up; enable it with POST /webhooks/{id}/enable, then recover.',
    ),
  ),
  consecutive_failures: v.pipe(v.number(), v.description('Failed attempts in a row (0 after a 2xx).')),
  failing_since: v.pipe(v.nullable(v.string()), v.description('When the current run of failures began; null when active.')),
  last_error: v.pipe(
    v.nullable(v.string()),
    v.description("The last failed attempt's error (`HTTP 500`, `timeout`, `connection-refused`, …), kept after it recovers."),
  ),
  last_error_at: v.nullable(v.string()),
  disabled_at: v.pipe(v.nullable(v.string()), v.description('When it was disabled; null unless disabled.')),
})
export type WebhookSummary = v.InferOutput<typeof WebhookSummarySchema>

export const WebhookSchema = v.object({ ...WebhookSummarySchema.entries, secret: v.string() })
export type Webhook = v.InferOutput<typeof WebhookSchema>

export const WebhookIdParams = v.object({ id: UuidSchema })

export const AttemptSchema = v.object({
  id: v.number(),
  event_id: v.string(),
  status_code: v.nullable(v.number()),
  error: v.nullable(v.string()),
  duration_ms: v.number(),
  attempted_at: v.string(),
})

/** `2026-02-31…` passes the ISO pattern and `Date` rolls it over to March: refuse it. */
const existingDay = (iso: string) => {
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number) as [number, number, number]
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate()
}

export const RecoverWebhookSchema = v.object({
  since: v.pipe(
    v.string('since must be a string'),
    v.isoTimestamp('since must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z'),
    v.check(existingDay, 'since must be a real calendar date'),
    v.transform((s) => new Date(s)),
    v.check((d) => !Number.isNaN(d.getTime()), 'since must be a valid date-time'),
    // JS takes year 0000 (1 BC); PostgreSQL refuses it (a 500)
    v.check((d) => d.getUTCFullYear() >= 1, 'since must be in year 0001 or later'),
  ),
})

export const RecoveredSchema = v.object({ recovered: v.number() })
