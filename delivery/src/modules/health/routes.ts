import { LivenessSchema } from '@logistics/shared'
import { databaseUnavailable } from '@logistics/shared/http/errors'
import { withoutDatabase } from '@logistics/shared/http/openapi'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { HealthSchema } from './model'
import { readiness } from './service'

/**
 * GET /health (readiness): 200 with the outbox lag when the database answers, else 503
 * `database-unavailable`. GET /health/live (liveness): 200 while the process serves, no database.
 */
export function healthRoutes(deps: AppDeps) {
  return new Elysia({ name: 'health' })
    .get(
      '/health',
      async () => {
        const health = await readiness(deps.db, deps.tickSeconds)
        if (!health) throw databaseUnavailable('The database does not answer')
        return health
      },
      {
        detail: {
          tags: ['health'],
          operationId: 'getHealth',
          summary: 'Readiness: the database answers',
          description:
            '200 with the age in seconds of the oldest webhook event waiting for delivery (null when none), the number of webhook endpoints disabled after a run of failures, and the tick interval when the database answers; 503 `database-unavailable` otherwise.',
        },
        response: { 200: HealthSchema },
      },
    )
    .get('/health/live', () => ({ status: 'ok' as const }), {
      detail: {
        tags: ['health'],
        operationId: 'getLiveness',
        summary: 'Liveness: 200 while the process serves (no database access)',
        ...withoutDatabase,
      },
      response: { 200: LivenessSchema },
    })
}
