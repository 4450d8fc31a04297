import { CreateDeliveryRequestSchema, DeliverySchema, listOf, NoContentSchema, UpdateDeliveryRequestSchema } from '@logistics/shared'
import { locationHeader } from '@logistics/shared/http/openapi'
import { Elysia } from 'elysia'
import type { AppDeps } from '../../context'
import { problems } from '../../problems'
import { authPlugin } from '../auth/plugin'
import { ListDeliveriesQuery, TrackingNumberParams } from './model'
import { createDelivery, deleteDelivery, findDelivery, listDeliveries, toDelivery, updateDelivery } from './service'

const detail = (operationId: string, summary: string) => ({ tags: ['deliveries'], operationId, summary })

export function deliveryRoutes(deps: AppDeps) {
  const { db } = deps
  const publicUrl = deps.config.PUBLIC_URL
  return new Elysia({ name: 'deliveries' })
    .use(authPlugin(deps))
    .post(
      '/deliveries',
      async ({ body, client, set }) => {
        const { created, delivery } = await createDelivery(db, client.id, body, publicUrl)
        if (created) deps.notifyWebhooks?.() // its first status is due now
        set.status = created ? 201 : 200
        set.headers.location = `/deliveries/${delivery.tracking_number}`
        return delivery
      },
      {
        apiKey: true,
        body: CreateDeliveryRequestSchema,
        response: { 200: DeliverySchema, 201: DeliverySchema, ...problems('delivery-exists') },
        detail: {
          ...detail('createDelivery', 'Create a delivery'),
          responses: { 200: { description: 'The existing delivery of this order (the same body again)', headers: locationHeader } },
          description:
            'Idempotent per API client on `order.foreign_order_id`: the same order again answers 200 with the existing delivery, another body for it 409. The first-draft spelling `foreing_order_id` is accepted.',
        },
      },
    )
    .get('/deliveries', ({ query, client }) => listDeliveries(db, client.id, query, publicUrl), {
      apiKey: true,
      query: ListDeliveriesQuery,
      response: { 200: listOf(DeliverySchema) },
      detail: detail('listDeliveries', 'List your deliveries, newest first'),
    })
    .get(
      '/deliveries/:tracking_number',
      async ({ params, client }) => toDelivery(await findDelivery(db, client.id, params.tracking_number), publicUrl),
      { apiKey: true, params: TrackingNumberParams, response: { 200: DeliverySchema }, detail: detail('getDelivery', 'View a delivery') },
    )
    .patch(
      '/deliveries/:tracking_number',
      ({ params, body, client }) => updateDelivery(db, client.id, params.tracking_number, body, publicUrl),
      {
        apiKey: true,
        params: TrackingNumberParams,
        body: UpdateDeliveryRequestSchema,
        response: { 200: DeliverySchema, ...problems('delivery-final') },
        detail: detail('updateDelivery', 'Edit origin, destination or products (409 once DELIVERED)'),
      },
    )
    .delete(
      '/deliveries/:tracking_number',
      async ({ params, client, set }) => {
        await deleteDelivery(db, client.id, params.tracking_number)
        set.status = 204
      },
      {
        apiKey: true,
        params: TrackingNumberParams,
        response: { 204: NoContentSchema, ...problems('already-picked-up') },
        detail: {
          ...detail('deleteDelivery', 'Withdraw a delivery that is still READY_FOR_PICK_UP'),
          description:
            'Deletes the delivery and its tracking history; its webhook events not sent yet are dropped. 409 `already-picked-up` once the parcel moved on (any later status), decided atomically with the status tick.',
        },
      },
    )
}
