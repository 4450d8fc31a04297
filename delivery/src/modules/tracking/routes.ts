import { TrackingLookupSchema, TrackingResponseSchema } from '@logistics/shared'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { problems } from '../../problems'
import { authPlugin } from '../auth/plugin'
import { TrackingNumberParams } from '../deliveries/model'
import { trackingHistory } from './service'

export function trackingRoutes(deps: AppDeps) {
  const { db } = deps
  const publicUrl = deps.config.PUBLIC_URL
  return new Elysia({ name: 'tracking' })
    .use(authPlugin(deps))
    .get('/deliveries/:tracking_number/tracking', ({ params, client }) => trackingHistory(db, client.id, params, publicUrl), {
      apiKey: true,
      params: TrackingNumberParams,
      response: { 200: TrackingResponseSchema },
      detail: { tags: ['tracking'], operationId: 'getDeliveryTracking', summary: 'Tracking history of a delivery, oldest first' },
    })
    .post(
      '/tracking',
      async ({ body, client, set }) => {
        set.status = 200
        return trackingHistory(db, client.id, body, publicUrl)
      },
      {
        apiKey: true,
        body: TrackingLookupSchema,
        response: { 200: TrackingResponseSchema, ...problems('not-found') },
        detail: {
          tags: ['tracking'],
          operationId: 'findTracking',
          summary: 'Tracking history looked up by foreign_order_id or tracking_number',
        },
      },
    )
}
