import { DeliveryStatusSchema } from '@logistics/shared'
import * as v from 'valibot'

/**
 * The public tracking page of a delivery (`tracking_url`), kept only when it is an http(s) URL: the
 * order shows it to the customer, who may open it. Missing (a delivery service before the page) or
 * anything else: null, and the dispatch goes on without it.
 */
const TrackingUrlSchema = v.fallback(v.nullable(v.pipe(v.string(), v.maxLength(2000), v.url(), v.regex(/^https?:\/\//i)), null), null)

/** What ecommerce needs from the delivery service's create answer (the full body has more). */
export const CreatedDeliverySchema = v.object({
  tracking_number: v.pipe(v.string(), v.minLength(1)),
  status: DeliveryStatusSchema,
  tracking_url: v.optional(TrackingUrlSchema, null),
})
export type CreatedDelivery = v.InferOutput<typeof CreatedDeliverySchema>

export const WebhookSubscriptionSchema = v.object({ id: v.string(), url: v.string() })
