import { ProblemSchema } from '@logistics/shared'
import { databaseUnavailable } from '@logistics/shared/http/errors'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { HealthSchema, LiveSchema } from './model'
import { readiness } from './service'

/** GET /health (readiness: the database answers, else 503 problem+json) and GET /health/live (liveness, no database). */
export const healthRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'health' })
    .get(
      '/health',
      async () => {
        const health = await readiness(deps)
        if (!health) throw databaseUnavailable('The database does not answer')
        return health
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
