import { Elysia } from 'elysia'
import { HttpProblem, ProblemSchema } from '@logistics/shared'
import { DATABASE_RETRY_AFTER_SECONDS } from '@logistics/shared/http/errors'
import type { AppDeps } from '../../context'
import { HealthSchema, LiveSchema } from './model'
import { checkHealth } from './service'

/** GET /health (readiness: the database answers, else 503 problem+json) and GET /health/live (liveness, no database). */
export const healthRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'health' })
    .get(
      '/health',
      async () => {
        if ((await checkHealth(deps.db)) !== 'ok')
          throw new HttpProblem(503, 'database-unavailable', 'The database does not answer', {}, {
            'retry-after': String(DATABASE_RETRY_AFTER_SECONDS),
          })
        const registration = deps.webhookRegistration?.status
        return { status: 'ok' as const, ...(registration ? { webhook_registration: registration } : {}) }
      },
      {
        response: { 200: HealthSchema, 503: ProblemSchema },
        detail: {
          tags: ['health'],
          summary: 'Readiness: 200 when the database answers, else 503 `database-unavailable`',
          description:
            '`webhook_registration` tells whether the webhook for delivery status updates is registered on the delivery service: ' +
            '`pending` (still trying; `detail` says why), `registered`, or `failed` (the delivery service refused it: a configuration error, `detail` has its reason).',
        },
      },
    )
    .get('/health/live', () => ({ status: 'ok' as const }), {
      response: { 200: LiveSchema },
      detail: { tags: ['health'], summary: 'Liveness: 200 while the process serves (no database access)' },
    })
