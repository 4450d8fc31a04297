import { named } from '@logistics/shared'
import * as v from 'valibot'

const WebhookRegistrationSchema = v.object({
  state: v.picklist(['pending', 'registered', 'failed']),
  detail: v.optional(v.string()),
})

export const HealthSchema = named(
  'EcommerceHealth',
  v.object({
    status: v.literal('ok'),
    /** Whether this service's webhook is registered on the delivery service (`failed`: a configuration error, see `detail`). */
    webhook_registration: v.optional(WebhookRegistrationSchema),
  }),
)
export type Health = v.InferOutput<typeof HealthSchema>
