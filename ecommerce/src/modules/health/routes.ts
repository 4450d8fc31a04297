import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { HealthSchema } from './model'
import { checkHealth } from './service'

export const healthRoutes = (deps: AppDeps) =>
  new Elysia({ name: 'health' }).get(
    '/health',
    async ({ status }) => {
      const state = await checkHealth(deps.db)
      const registration = deps.webhookRegistration?.status
      const body = { status: state, ...(registration ? { webhook_registration: registration } : {}) }
      return state === 'ok' ? status(200, body) : status(503, body)
    },
    {
      response: { 200: HealthSchema, 503: HealthSchema },
      detail: {
        tags: ['health'],
        summary: '200 when the database answers, else 503',
        description:
          '`webhook_registration` tells whether the webhook for delivery status updates is registered on the delivery service: ' +
          '`pending` (still trying; `detail` says why), `registered`, or `failed` (the delivery service refused it: a configuration error, `detail` has its reason).',
      },
    },
  )
