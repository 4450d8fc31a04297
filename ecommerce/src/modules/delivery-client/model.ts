import { DeliveryStatusSchema } from '@logistics/shared'
import * as v from 'valibot'

/** What ecommerce needs from the delivery service's create answer (the full body has more). */
export const CreatedDeliverySchema = v.object({
  tracking_number: v.pipe(v.string(), v.minLength(1)),
  status: DeliveryStatusSchema,
})
export type CreatedDelivery = v.InferOutput<typeof CreatedDeliverySchema>

export const WebhookSubscriptionSchema = v.object({ id: v.string(), url: v.string() })
