import { Elysia } from 'elysia'
import * as v from 'valibot'
import { HttpProblem, ProblemSchema } from '@logistics/shared'
import { DATABASE_RETRY_AFTER_SECONDS } from '@logistics/shared/http/errors'
import type { DeliveryDb } from '../../db'
import { pendingWebhookStats } from '../webhooks/service'

export const HealthSchema = v.object({
  status: v.literal('ok'),
  /** Seconds since the oldest webhook event still waiting for delivery was written; null when none waits. */
  oldest_pending_webhook_age_seconds: v.nullable(v.number()),
  /** Seconds between status ticks (absent when this process runs no tick). */
  tick_seconds: v.optional(v.number()),
})
export const LiveSchema = v.object({ status: v.literal('ok') })

/**
 * GET /health (readiness): 200 with the outbox lag when the database answers, else 503
 * `database-unavailable`. GET /health/live (liveness): 200 while the process serves, no database.
 */
export function healthRoutes(db: DeliveryDb, options: { tickSeconds?: number } = {}) {
  return new Elysia({ name: 'health' })
    .get(
      '/health',
      async () => {
        try {
          const stats = await pendingWebhookStats(db)
          return {
            status: 'ok' as const,
            oldest_pending_webhook_age_seconds: stats.oldestAgeSeconds,
            ...(options.tickSeconds !== undefined && { tick_seconds: options.tickSeconds }),
          }
        } catch {
          throw new HttpProblem(503, 'database-unavailable', 'The database does not answer', {}, {
            'retry-after': String(DATABASE_RETRY_AFTER_SECONDS),
          })
        }
      },
      {
        detail: {
          tags: ['health'],
          summary: 'Readiness: the database answers',
          description:
            '200 with the age in seconds of the oldest webhook event waiting for delivery (null when none) and the tick interval when the database answers; 503 `database-unavailable` otherwise.',
        },
        response: { 200: HealthSchema, 503: ProblemSchema },
      },
    )
    .get('/health/live', () => ({ status: 'ok' as const }), {
      detail: { tags: ['health'], summary: 'Liveness: 200 while the process serves (no database access)' },
      response: { 200: LiveSchema },
    })
}
