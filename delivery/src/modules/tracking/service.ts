import { notFound, type TrackingResponse } from '@logistics/shared'
import { and, asc, eq } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'
import { deliveries, trackingEvents } from '../../db/schema'
import { trackingUrl } from '../tracking-page/service'

/** The tracking history of one of the client's deliveries, oldest first; `publicUrl` (PUBLIC_URL) is the base of its `tracking_url`. */
export async function trackingHistory(
  db: DeliveryDb,
  clientId: string,
  by: { tracking_number: string } | { foreign_order_id: string },
  publicUrl: string,
): Promise<TrackingResponse> {
  const match =
    'tracking_number' in by
      ? eq(deliveries.trackingNumber, by.tracking_number.toUpperCase())
      : eq(deliveries.foreignOrderId, by.foreign_order_id)
  const [delivery] = await db
    .select({
      id: deliveries.id,
      trackingNumber: deliveries.trackingNumber,
      foreignOrderId: deliveries.foreignOrderId,
      status: deliveries.status,
    })
    .from(deliveries)
    .where(and(eq(deliveries.clientId, clientId), match))
  if (!delivery)
    throw notFound(
      'tracking_number' in by ? `No delivery with tracking number ${by.tracking_number}` : `No delivery for order ${by.foreign_order_id}`,
    )
  const events = await db
    .select({ status: trackingEvents.status, date: trackingEvents.createdAt })
    .from(trackingEvents)
    .where(eq(trackingEvents.deliveryId, delivery.id))
    .orderBy(asc(trackingEvents.id))
  return {
    tracking_number: delivery.trackingNumber,
    foreign_order_id: delivery.foreignOrderId,
    status: delivery.status,
    tracking_url: trackingUrl(publicUrl, delivery.trackingNumber),
    tracking: events.map((e) => ({ status: e.status, date: e.date.toISOString() })),
  }
}
