import { DeliveryStatusSchema, named, TrackingNumberSchema } from '@logistics/shared'
import * as v from 'valibot'

/** `GET /track/{tracking_number}/status`: what the public page shows, as JSON (status and dates only). */
export const PublicTrackingSchema = named(
  'PublicTracking',
  v.pipe(
    v.object({
      tracking_number: TrackingNumberSchema,
      status: DeliveryStatusSchema,
      tracking: v.pipe(
        v.array(named('PublicTrackingEvent', v.object({ status: DeliveryStatusSchema, date: v.pipe(v.string(), v.isoTimestamp()) }))),
        v.description('The dated history, oldest first'),
      ),
    }),
    v.description('Status and dates only: no name, address, product, order id or API client'),
  ),
)
export type PublicTracking = v.InferOutput<typeof PublicTrackingSchema>

/** The empty 304 of a poll whose If-None-Match is current. */
export const NotModifiedSchema = v.pipe(v.undefined(), v.description('Not modified: the `If-None-Match` ETag is current (no body)'))
