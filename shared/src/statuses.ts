import * as v from 'valibot'
import { named } from './documented'

/** Delivery statuses, in the order a parcel normally goes through them. */
export const DELIVERY_STATUSES = ['READY_FOR_PICK_UP', 'IN_ORIGIN', 'IN_ROUTE_OF_DELIVERY', 'NOT_DELIVERED', 'DELIVERED'] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]
export const DeliveryStatusSchema = named('DeliveryStatus', v.picklist(DELIVERY_STATUSES))

/**
 * The transition table. A status with two successors draws one of them with equal
 * probability (the 50/50 split after IN_ROUTE_OF_DELIVERY).
 */
export const DELIVERY_TRANSITIONS: Readonly<Record<DeliveryStatus, readonly DeliveryStatus[]>> = {
  READY_FOR_PICK_UP: ['IN_ORIGIN'],
  IN_ORIGIN: ['IN_ROUTE_OF_DELIVERY'],
  IN_ROUTE_OF_DELIVERY: ['NOT_DELIVERED', 'DELIVERED'],
  NOT_DELIVERED: ['IN_ROUTE_OF_DELIVERY'],
  DELIVERED: [],
}

/** A final status has no successor (`DELIVERED`): every other status moves on at the next tick. */
export const isFinalDeliveryStatus = (s: DeliveryStatus) => DELIVERY_TRANSITIONS[s].length === 0

/** The next status of `from`; `draw` in [0, 1) picks between two successors (< 0.5 → the first). */
export function nextDeliveryStatus(from: DeliveryStatus, draw: number): DeliveryStatus | null {
  const next = DELIVERY_TRANSITIONS[from]
  if (next.length === 0) return null
  return next[Math.min(next.length - 1, Math.floor(draw * next.length))]!
}

/** Order statuses of the marketplace. */
const ORDER_STATUSES = ['created', 'confirmed', 'dispatched', 'delivered', 'cancelled'] as const
export type OrderStatus = (typeof ORDER_STATUSES)[number]
export const OrderStatusSchema = named('OrderStatus', v.picklist(ORDER_STATUSES))
