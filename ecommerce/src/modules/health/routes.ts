import { LivenessSchema } from '@logistics/shared'
import { databaseUnavailable } from '@logistics/shared/http/errors'
import { withoutDatabase } from '@logistics/shared/http/openapi'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { HealthSchema } from './model'
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
        response: { 200: HealthSchema },
        detail: {
          tags: ['health'],
          operationId: 'getHealth',
          summary: 'Readiness: 200 when the database answers, else 503 `database-unavailable`',
          description:
            '`webhook_registration` tells whether the webhook for delivery status updates is registered on the delivery service: ' +
            '`pending` (still trying; `detail` says why), `registered`, or `failed` (the delivery service refused it: a configuration error, `detail` has its reason).',
        },
      },
    )
    .get('/health/live', () => ({ status: 'ok' as const }), {
      response: { 200: LivenessSchema },
      detail: {
        tags: ['health'],
        operationId: 'getLiveness',
        summary: 'Liveness: 200 while the process serves (no database access)',
        ...withoutDatabase,
      },
    })
