import { Elysia } from 'elysia'
import * as v from 'valibot'
import { HttpProblem, ProblemSchema } from '@logistics/shared'
import { type Db, pingDatabase } from '@logistics/shared/db'

export const HealthSchema = v.object({ status: v.literal('ok') })

/** GET /health: 200 when the database answers, else 503 problem+json. */
export function healthRoutes(db: Db<any>) {
  return new Elysia({ name: 'health' }).get(
    '/health',
    async () => {
      if (!(await pingDatabase(db))) throw new HttpProblem(503, 'database-unavailable', 'The database does not answer')
      return { status: 'ok' as const }
    },
    { detail: { tags: ['health'], summary: 'Liveness and database check' }, response: { 200: HealthSchema, 503: ProblemSchema } },
  )
}
