import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { HealthSchema } from './model'
import { checkHealth } from './service'

export const healthRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'health' }).get(
    '/health',
    async ({ status }) => {
      const state = await checkHealth(deps.db)
      return state === 'ok' ? status(200, { status: state }) : status(503, { status: state })
    },
    {
      response: { 200: HealthSchema, 503: HealthSchema },
      detail: { tags: ['health'], summary: '200 when the database answers, else 503' },
    },
  )
