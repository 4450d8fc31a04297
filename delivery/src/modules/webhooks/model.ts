import { DateTimeString, Integer, named, UriString, UuidSchema, UuidString, WebhookSecretSchema } from '@logistics/shared'
import * as v from 'valibot'
import { ENDPOINT_RULE } from './endpoints'

const DISABLE_HOURS = ENDPOINT_RULE.disableAfterMs / 3_600_000

export const RegisterWebhookSchema = named(
  'RegisterWebhookRequest',
  v.object({
    url: v.pipe(
      v.string('url must be a string'),
      v.trim(),
      v.maxLength(2000, 'url must be at most 2000 characters'),
      v.url('url must be an absolute URL'),
      v.metadata({ pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' }),
      v.check((u) => /^https?:\/\//i.test(u), 'url must be http or https'),
    ),
    secret: v.optional(WebhookSecretSchema),
  }),
)

export const WebhookSummarySchema = named(
  'WebhookSummary',
  v.object({
    id: UuidString,
    url: UriString,
    created_at: DateTimeString,
    state: v.pipe(
      v.picklist(['active', 'failing', 'disabled']),
      v.description(
        '`active`: sent to at full rate. `failing`: its last attempt failed; one event at a time is tried (a probe) on a backoff until it answers 2xx. ' +
          `\`disabled\`: it failed ${ENDPOINT_RULE.disableAfterFailures} attempts in a row over at least ${DISABLE_HOURS} hours: ` +
          'nothing is sent, new events are kept as given up; enable it with POST /webhooks/{id}/enable, then recover.',
      ),
    ),
    consecutive_failures: v.pipe(Integer, v.minValue(0), v.description('Failed attempts in a row (0 after a 2xx).')),
    failing_since: v.pipe(v.nullable(DateTimeString), v.description('When the current run of failures began; null when active.')),
    last_error: v.pipe(
      v.nullable(v.string()),
      v.description(
        "The last failed attempt's error (`HTTP 500`, `timeout`, `connection-refused`, …), kept after it recovers; null if none ever failed.",
      ),
    ),
    last_error_at: v.pipe(v.nullable(DateTimeString), v.description('When the last failed attempt was; null if none ever failed.')),
    disabled_at: v.pipe(v.nullable(DateTimeString), v.description('When it was disabled; null unless disabled.')),
  }),
)
export type WebhookSummary = v.InferOutput<typeof WebhookSummarySchema>

export const WebhookSchema = named(
  'Webhook',
  v.object({
    ...WebhookSummarySchema.entries,
    secret: v.pipe(v.string(), v.description('`whsec_…`: verify each event with it (Standard Webhooks)')),
  }),
)
export type Webhook = v.InferOutput<typeof WebhookSchema>

export const WebhookIdParams = v.object({ id: UuidSchema })

export const AttemptSchema = named(
  'WebhookAttempt',
  v.object({
    id: Integer,
    event_id: UuidString,
    status_code: v.pipe(v.nullable(Integer), v.description("The receiver's HTTP status; null when it did not answer")),
    error: v.nullable(v.string()),
    duration_ms: Integer,
    attempted_at: DateTimeString,
  }),
)

/** `2026-02-31…` passes the ISO pattern and `Date` rolls it over to March: refuse it. */
const existingDay = (iso: string) => {
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number) as [number, number, number]
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate()
}

export const RecoverWebhookSchema = named(
  'RecoverWebhookRequest',
  v.object({
    since: v.pipe(
      v.string('since must be a string'),
      v.isoTimestamp('since must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z'),
      v.check(existingDay, 'since must be a real calendar date'),
      v.transform((s) => new Date(s)),
      v.check((d) => !Number.isNaN(d.getTime()), 'since must be a valid date-time'),
      // JS takes year 0000 (1 BC); PostgreSQL refuses it (a 500)
      v.check((d) => d.getUTCFullYear() >= 1, 'since must be in year 0001 or later'),
    ),
  }),
)

export const RecoveredSchema = named(
  'RecoveredEvents',
  v.object({ recovered: v.pipe(Integer, v.description('How many events were put back in the queue')) }),
)
