import { Elysia } from 'elysia'
import * as v from 'valibot'
import { HttpProblem, ProblemSchema } from '@logistics/shared'
import { type Db, pingDatabase } from '@logistics/shared/db'

export const HealthSchema = v.object({
  status: v.literal('ok'),
  /** Seconds between status ticks (absent when this process runs no tick). */
  tick_seconds: v.optional(v.number()),
})

/** GET /health: 200 when the database answers (with the tick interval), else 503 problem+json. */
export function healthRoutes(db: Db<any>, options: { tickSeconds?: number } = {}) {
  return new Elysia({ name: 'health' }).get(
    '/health',
    async () => {
      if (!(await pingDatabase(db))) throw new HttpProblem(503, 'database-unavailable', 'The database does not answer')
      return { status: 'ok' as const, ...(options.tickSeconds !== undefined && { tick_seconds: options.tickSeconds }) }
    },
    { detail: { tags: ['health'], summary: 'Liveness and database check' }, response: { 200: HealthSchema, 503: ProblemSchema } },
  )
}
