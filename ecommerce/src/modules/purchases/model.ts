import { DateTimeString, named, UuidString } from '@logistics/shared'
import * as v from 'valibot'
import { OrderSchema } from '../orders/model'

const PurchaseItemSchema = named(
  'PurchaseItem',
  v.object({
    product_id: v.pipe(v.string('product_id must be a string'), v.uuid('product_id must be a UUID')),
    quantity: v.pipe(
      v.number('quantity must be a number'),
      v.integer('quantity must be a whole number'),
      v.minValue(1, 'quantity must be at least 1'),
      v.maxValue(100_000, 'quantity must be at most 100000'),
    ),
  }),
)

export const PurchaseRequestSchema = named(
  'PurchaseRequest',
  v.object({
    items: v.pipe(
      v.array(PurchaseItemSchema, 'items must be a list'),
      v.minLength(1, 'items must list at least one product'),
      v.maxLength(100, 'items must list at most 100 products'),
    ),
  }),
)
export type PurchaseRequest = v.InferOutput<typeof PurchaseRequestSchema>

export const PurchaseSchema = named(
  'Purchase',
  v.object({
    id: UuidString,
    customer_id: UuidString,
    orders: v.pipe(v.array(OrderSchema), v.description('One order per seller')),
    created_at: DateTimeString,
  }),
)
export type PurchaseJson = v.InferOutput<typeof PurchaseSchema>

export const IdempotencyKeySchema = v.pipe(
  v.string(),
  v.minLength(1, 'Idempotency-Key must not be empty'),
  v.maxLength(255, 'Idempotency-Key must be at most 255 characters'),
)
