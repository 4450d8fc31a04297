import { DateTimeString, Integer, named, PaginationQuerySchema, text, UuidString } from '@logistics/shared'
import * as v from 'valibot'

const Quantity = v.pipe(
  v.number('quantity must be a number'),
  v.integer('quantity must be a whole number'),
  v.minValue(0, 'quantity must be at least 0'),
  v.maxValue(1_000_000_000, 'quantity must be at most 1000000000'),
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
    quantity: v.pipe(Integer, v.description('In stock')),
    created_at: DateTimeString,
    updated_at: DateTimeString,
  }),
)
export type ProductJson = v.InferOutput<typeof ProductSchema>
