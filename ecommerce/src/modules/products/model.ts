import { DateTimeString, Integer, named, PaginationQuerySchema, text, UuidString } from '@logistics/shared'
import * as v from 'valibot'

/** The most stock a seller sets (POST and PATCH /products). */
const MAX_SET_QUANTITY = 1_000_000_000

/**
 * The most stock a product holds: cancels give their units back on top of what the seller set,
 * and saturate here (2^53 − 1, what JSON numbers hold exactly; the column is a bigint), so a
 * cancel always succeeds. Reaching it takes some nine million resets to the set maximum.
 */
export const MAX_STOCK = Number.MAX_SAFE_INTEGER

const Quantity = v.pipe(
  v.number('quantity must be a number'),
  v.integer('quantity must be a whole number'),
  v.minValue(0, 'quantity must be at least 0'),
  v.maxValue(MAX_SET_QUANTITY, `quantity must be at most ${MAX_SET_QUANTITY}`),
  v.description(
    `Units in stock, 0 to ${MAX_SET_QUANTITY}. Cancelled orders give their units back on top, so a product may hold more (up to ${MAX_STOCK}).`,
  ),
)

export const CreateProductRequestSchema = named(
  'CreateProductRequest',
  v.object({
    sku: text('sku', 64),
    name: text('name', 200),
    description: text('description', 1000),
    quantity: Quantity,
  }),
)

export const UpdateProductRequestSchema = named(
  'UpdateProductRequest',
  v.pipe(
    v.object({
      sku: v.optional(text('sku', 64)),
      name: v.optional(text('name', 200)),
      description: v.optional(text('description', 1000)),
      quantity: v.optional(Quantity),
    }),
    v.metadata({ minProperties: 1 }),
    v.check(
      (b) => b.sku !== undefined || b.name !== undefined || b.description !== undefined || b.quantity !== undefined,
      'give at least one of sku, name, description, quantity',
    ),
  ),
)

export const ProductListQuerySchema = v.object({
  ...PaginationQuerySchema.entries,
  seller_id: v.optional(v.pipe(v.string(), v.uuid('seller_id must be a UUID'))),
})

export const ProductSchema = named(
  'Product',
  v.object({
    id: UuidString,
    seller_id: UuidString,
    sku: v.string(),
    name: v.string(),
    description: v.string(),
    quantity: v.pipe(
      Integer,
      v.minValue(0),
      v.maxValue(MAX_STOCK),
      v.description(
        `Units in stock: what the seller set (at most ${MAX_SET_QUANTITY}), less purchases, plus cancelled orders' units (at most ${MAX_STOCK})`,
      ),
    ),
    created_at: DateTimeString,
    updated_at: DateTimeString,
  }),
)
export type ProductJson = v.InferOutput<typeof ProductSchema>
