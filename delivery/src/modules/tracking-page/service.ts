import { asc, eq } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'
import { deliveries, trackingEvents } from '../../db/schema'
import type { PublicTracking } from './model'

/** The public page of a parcel: `PUBLIC_URL/track/{tracking_number}` (the `tracking_url` of its JSON). */
export const trackingUrl = (publicUrl: string, trackingNumber: string) => `${publicUrl}/track/${encodeURIComponent(trackingNumber)}`

const TRACKING_NUMBER = /^TRK-([0-9A-Z]{4})-([0-9A-Z]{4})-([0-9A-Z]{4})$/

/**
 * A tracking number as a person may type or paste it, in canonical form, or null when it cannot be
 * one: blanks around it and letter case do not matter, and in its 12 random characters the letters
 * Crockford base32 leaves out read as what they look like (I and L as 1, O as 0). U never occurs.
 */
export function normalizeTrackingNumber(input: string | null | undefined): string | null {
  // (Elysia hands a path parameter it cannot percent-decode over as null.)
  if (typeof input !== 'string' || input.length > 40) return null
  const match = TRACKING_NUMBER.exec(input.trim().toUpperCase())
  if (!match) return null
  const groups = match.slice(1).map((g) => g.replace(/[IL]/g, '1').replace(/O/g, '0'))
  if (groups.some((g) => g.includes('U'))) return null
  return `TRK-${groups.join('-')}`
}

/**
 * What anyone holding the tracking number may see of the parcel: its status and dated history,
 * oldest first. Nothing else: no name, address, product, order id or API client. Null when no
 * delivery has this number (never created, or withdrawn: a withdrawn delivery is deleted).
 * One query: the delivery and its events in one snapshot.
 */
export async function publicTracking(db: DeliveryDb, trackingNumber: string): Promise<PublicTracking | null> {
  const rows = await db
    .select({ status: deliveries.status, eventStatus: trackingEvents.status, eventDate: trackingEvents.createdAt })
    .from(deliveries)
    .leftJoin(trackingEvents, eq(trackingEvents.deliveryId, deliveries.id))
    .where(eq(deliveries.trackingNumber, trackingNumber))
    .orderBy(asc(trackingEvents.id))
  const first = rows[0]
  if (!first) return null
  return {
    tracking_number: trackingNumber,
    status: first.status,
    tracking: rows.flatMap((r) => (r.eventStatus && r.eventDate ? [{ status: r.eventStatus, date: r.eventDate.toISOString() }] : [])),
  }
}

/** The JSON body of a parcel's public tracking and its ETag (a hash of exactly those bytes). */
export function trackingBody(tracking: PublicTracking): { body: string; etag: string } {
  const body = JSON.stringify(tracking)
  return { body, etag: `"${Bun.hash(body).toString(36)}"` }
}

/** Whether an If-None-Match header names this ETag (weak comparison, `*` included: RFC 9110 §13.1.2). */
export function etagMatches(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false
  const bare = etag.replace(/^W\//, '')
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t.replace(/^W\//, '') === bare
  })
}
