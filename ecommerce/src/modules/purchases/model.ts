import * as v from 'valibot'
import { OrderSchema } from '../orders/model'

const PurchaseItemSchema = v.object({
  product_id: v.pipe(v.string('product_id must be a string'), v.uuid('product_id must be a UUID')),
  quantity: v.pipe(
    v.number('quantity must be a number'),
    v.integer('quantity must be a whole number'),
    v.minValue(1, 'quantity must be at least 1'),
    v.maxValue(100_000, 'quantity must be at most 100000'),
  ),
})

export const PurchaseRequestSchema = v.object({
  items: v.pipe(
    v.array(PurchaseItemSchema, 'items must be a list'),
    v.minLength(1, 'items must list at least one product'),
    v.maxLength(100, 'items must list at most 100 products'),
  ),
})
export type PurchaseRequest = v.InferOutput<typeof PurchaseRequestSchema>

export const PurchaseSchema = v.object({
  id: v.string(),
  customer_id: v.string(),
  orders: v.array(OrderSchema),
  created_at: v.string(),
})
export type PurchaseJson = v.InferOutput<typeof PurchaseSchema>

export const IdempotencyKeySchema = v.pipe(
  v.string(),
  v.minLength(1, 'Idempotency-Key must not be empty'),
  v.maxLength(255, 'Idempotency-Key must be at most 255 characters'),
)

/** 409: `insufficient-stock` (with `products`), `idempotency-key-reused`. */
export const InsufficientStockSchema = v.object({
  type: v.string(),
  title: v.string(),
  status: v.number(),
  detail: v.string(),
  code: v.string(),
  /** With `insufficient-stock`: each short product, by its sku (as the shopper knows it) and id. */
  products: v.optional(
    v.pipe(
      v.array(v.object({ product_id: v.string(), sku: v.string(), requested: v.number(), available: v.number() })),
      v.description('With `insufficient-stock`: each short product (sku and id), the quantity asked for and the quantity in stock'),
    ),
  ),
})
