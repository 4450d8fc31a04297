import { createHash } from 'node:crypto'
import {
  type CreateDeliveryRequest,
  conflict,
  type Delivery,
  type DeliveryStatus,
  type ListEnvelope,
  notFound,
  type Pagination,
  type UpdateDeliveryRequest,
} from '@logistics/shared'
import { pgConstraint, pgErrorCode } from '@logistics/shared/db'
import { paginateTable } from '@logistics/shared/pagination'
import { and, eq, sql } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'
import { deliveries, trackingEvents, webhookEvents } from '../../db/schema'
import { trackingUrl } from '../tracking-page/service'
import { enqueueStatusEvent } from '../webhooks/outbox'
import { generateTrackingNumber } from './tracking-number'

type DeliveryRow = typeof deliveries.$inferSelect

/** A delivery's JSON; `publicUrl` (PUBLIC_URL) is the base of its `tracking_url`. */
export function toDelivery(row: DeliveryRow, publicUrl: string): Delivery {
  return {
    tracking_number: row.trackingNumber,
    status: row.status,
    tracking_url: trackingUrl(publicUrl, row.trackingNumber),
    order: { foreign_order_id: row.foreignOrderId, products: row.products },
    origin: { address: row.originAddress },
    destination: { name: row.destinationName, address: row.destinationAddress },
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  }
}

/** A stable hash of a normalised create request (key order does not matter). */
function requestHash(body: CreateDeliveryRequest): string {
  const canonical = JSON.stringify([
    body.order.foreign_order_id,
    body.order.products.map((p) => [p.sku, p.name, p.qty]),
    body.origin.address,
    body.destination.name,
    body.destination.address,
  ])
  return createHash('sha256').update(canonical).digest('hex')
}

export type CreateResult = { created: boolean; delivery: Delivery }

/**
 * Creates a delivery with a fresh tracking number, its first tracking event and its first webhook
 * event (READY_FOR_PICK_UP, previous_status null, one outbox row per subscription), idempotently per
 * client on the foreign order id: the same order again returns the existing delivery
 * (`created: false`); another body for it is a 409.
 */
export async function createDelivery(
  db: DeliveryDb,
  clientId: string,
  body: CreateDeliveryRequest,
  publicUrl: string,
): Promise<CreateResult> {
  const hash = requestHash(body)
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const created = await db.transaction(async (tx) => {
        const [row] = await tx
          .insert(deliveries)
          .values({
            clientId,
            trackingNumber: generateTrackingNumber(),
            foreignOrderId: body.order.foreign_order_id,
            status: 'READY_FOR_PICK_UP',
            products: body.order.products,
            originAddress: body.origin.address,
            destinationName: body.destination.name,
            destinationAddress: body.destination.address,
            requestHash: hash,
          })
          .onConflictDoNothing({ target: [deliveries.clientId, deliveries.foreignOrderId] })
          .returning()
        if (!row) return null
        await tx.insert(trackingEvents).values({ deliveryId: row.id, status: row.status, createdAt: row.createdAt })
        // The first status is notified too (previous_status null), committed with the delivery.
        await enqueueStatusEvent(tx, clientId, {
          deliveryId: row.id,
          trackingNumber: row.trackingNumber,
          foreignOrderId: row.foreignOrderId,
          status: row.status,
          previousStatus: null,
          at: row.createdAt,
        })
        return row
      })
      if (created) return { created: true, delivery: toDelivery(created, publicUrl) }
      const [existing] = await db
        .select()
        .from(deliveries)
        .where(and(eq(deliveries.clientId, clientId), eq(deliveries.foreignOrderId, body.order.foreign_order_id)))
      if (!existing) continue // deleted in between: try again
      if (existing.requestHash !== hash)
        throw conflict(
          'delivery-exists',
          `A delivery for order ${body.order.foreign_order_id} already exists with other details (tracking number ${existing.trackingNumber})`,
          { tracking_number: existing.trackingNumber },
        )
      return { created: false, delivery: toDelivery(existing, publicUrl) }
    } catch (error) {
      // A tracking-number collision (60 random bits: rare) → draw another.
      if (pgErrorCode(error) === '23505' && pgConstraint(error)?.includes('tracking_number')) continue
      throw error
    }
  }
  throw new Error('could not create the delivery')
}

export async function listDeliveries(
  db: DeliveryDb,
  clientId: string,
  query: Pagination & { status?: DeliveryStatus },
  publicUrl: string,
): Promise<ListEnvelope<Delivery>> {
  const where = and(eq(deliveries.clientId, clientId), query.status ? eq(deliveries.status, query.status) : undefined)
  const { rows, meta } = await paginateTable(db, deliveries, {
    page: query,
    keyset: { columns: [deliveries.createdAt, deliveries.id], direction: 'desc' },
    where,
  })
  return { data: rows.map((row) => toDelivery(row, publicUrl)), ...meta }
}

export async function findDelivery(db: DeliveryDb, clientId: string, trackingNumber: string): Promise<DeliveryRow> {
  const [row] = await db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.clientId, clientId), eq(deliveries.trackingNumber, trackingNumber)))
  if (!row) throw notFound(`No delivery with tracking number ${trackingNumber}`)
  return row
}

/** Edits origin, destination or products; a delivered parcel can no longer change (409). */
export async function updateDelivery(
  db: DeliveryDb,
  clientId: string,
  trackingNumber: string,
  body: UpdateDeliveryRequest,
  publicUrl: string,
): Promise<Delivery> {
  const [row] = await db
    .update(deliveries)
    .set({
      ...(body.origin ? { originAddress: body.origin.address } : {}),
      ...(body.destination ? { destinationName: body.destination.name, destinationAddress: body.destination.address } : {}),
      ...(body.products ? { products: body.products } : {}),
      updatedAt: sql`now()`,
    })
    .where(and(eq(deliveries.clientId, clientId), eq(deliveries.trackingNumber, trackingNumber), sql`${deliveries.status} <> 'DELIVERED'`))
    .returning()
  if (row) return toDelivery(row, publicUrl)
  const existing = await findDelivery(db, clientId, trackingNumber)
  throw conflict('delivery-final', `Delivery ${trackingNumber} is ${existing.status} and can no longer be edited`, {
    current_status: existing.status,
  })
}

/**
 * Withdraws a parcel that is still READY_FOR_PICK_UP: deletes it with its tracking history, and its
 * webhook events not sent yet are given up (never sent for a parcel that no longer exists). The
 * status guard is part of the DELETE itself, so it is decided atomically with the tick: a tick that
 * moved the row first makes it a 409 (`already-picked-up`); a delete that went first makes the tick
 * skip the row (PostgreSQL re-checks the row after waiting for its lock).
 */
export async function deleteDelivery(db: DeliveryDb, clientId: string, trackingNumber: string): Promise<void> {
  const deleted = await db.transaction(async (tx) => {
    const [row] = await tx
      .delete(deliveries)
      .where(
        and(eq(deliveries.clientId, clientId), eq(deliveries.trackingNumber, trackingNumber), eq(deliveries.status, 'READY_FOR_PICK_UP')),
      )
      .returning({ id: deliveries.id })
    if (!row) return false
    await tx.delete(trackingEvents).where(eq(trackingEvents.deliveryId, row.id))
    // Kept (not deleted) so an attempt being sent right now can still record its outcome.
    await tx
      .update(webhookEvents)
      .set({ state: 'failed', lastError: 'delivery withdrawn' })
      .where(and(eq(webhookEvents.deliveryId, row.id), eq(webhookEvents.state, 'pending')))
    return true
  })
  if (deleted) return
  const existing = await findDelivery(db, clientId, trackingNumber) // 404 when unknown
  throw conflict(
    'already-picked-up',
    `Delivery ${trackingNumber} is ${existing.status}: the parcel was picked up and can no longer be withdrawn`,
    { current_status: existing.status },
  )
}
