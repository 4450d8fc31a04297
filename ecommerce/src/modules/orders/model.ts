import { DeliveryStatusSchema, OrderStatusSchema, PaginationQuerySchema } from '@logistics/shared'
import * as v from 'valibot'

const OrderItemSchema = v.object({
  product_id: v.string(),
  sku: v.string(),
  name: v.string(),
  quantity: v.number(),
})

export const OrderSchema = v.object({
  id: v.string(),
  purchase_id: v.string(),
  seller_id: v.string(),
  customer_id: v.string(),
  status: OrderStatusSchema,
  items: v.array(OrderItemSchema),
  delivery: v.object({
    name: v.string(),
    address: v.string(),
    origin_address: v.string(),
    tracking_number: v.nullable(v.string()),
    tracking_url: v.pipe(
      v.nullable(v.string()),
      v.description("The parcel's public tracking page (status and dates only) from the delivery service; null until dispatched"),
    ),
    status: v.nullable(DeliveryStatusSchema),
  }),
  created_at: v.string(),
  updated_at: v.string(),
})
export type OrderJson = v.InferOutput<typeof OrderSchema>

export const OrderListQuerySchema = v.object({
  ...PaginationQuerySchema.entries,
  status: v.optional(OrderStatusSchema),
})

export const OrderHistorySchema = v.object({
  data: v.array(v.object({ status: OrderStatusSchema, created_at: v.string() })),
})
