import { DeliveryStatusSchema, PaginationQuerySchema, TRACKING_NUMBER_PATTERN } from '@logistics/shared'
import * as v from 'valibot'

export const TrackingNumberParams = v.object({
  tracking_number: v.pipe(
    v.string(),
    v.metadata({ pattern: TRACKING_NUMBER_PATTERN, description: 'Case-insensitive' }),
    v.trim(),
    v.toUpperCase(),
    v.minLength(1),
    v.maxLength(64),
  ),
})

export const ListDeliveriesQuery = v.object({
  ...PaginationQuerySchema.entries,
  status: v.optional(DeliveryStatusSchema),
})
