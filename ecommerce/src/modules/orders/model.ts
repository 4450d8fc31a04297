import {
  DateTimeString,
  DeliveryStatusSchema,
  Integer,
  named,
  OrderStatusSchema,
  PaginationQuerySchema,
  UriString,
  UuidString,
} from '@logistics/shared'
import * as v from 'valibot'

const OrderItemSchema = named(
  'OrderItem',
  v.object({
    product_id: UuidString,
    sku: v.string(),
    name: v.string(),
    quantity: Integer,
  }),
)

export const OrderSchema = named(
  'Order',
  v.object({
    id: UuidString,
    purchase_id: UuidString,
    seller_id: UuidString,
    customer_id: UuidString,
    status: OrderStatusSchema,
    items: v.array(OrderItemSchema),
    delivery: named(
      'OrderDelivery',
      v.object({
        name: v.string(),
        address: v.string(),
        origin_address: v.string(),
        tracking_number: v.pipe(v.nullable(v.string()), v.description('null until the order is dispatched')),
        tracking_url: v.pipe(
          v.nullable(UriString),
          v.description(
            "The parcel's public tracking page (status and dates only), as the delivery service gave it; null until dispatched (and when it gave none)",
          ),
        ),
        status: v.pipe(v.nullable(DeliveryStatusSchema), v.description('null until the order is dispatched')),
      }),
    ),
    created_at: DateTimeString,
    updated_at: DateTimeString,
  }),
)
export type OrderJson = v.InferOutput<typeof OrderSchema>

export const OrderListQuerySchema = v.object({
  ...PaginationQuerySchema.entries,
  status: v.optional(OrderStatusSchema),
})

export const OrderHistorySchema = named(
  'OrderHistory',
  v.object({
    data: v.array(named('OrderHistoryEntry', v.object({ status: OrderStatusSchema, created_at: DateTimeString }))),
  }),
)
