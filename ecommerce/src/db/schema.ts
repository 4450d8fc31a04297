import type { DeliveryStatus, OrderStatus } from '@logistics/shared'
import { sql } from 'drizzle-orm'
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import type { Role } from '../modules/auth/model'

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

/** Sellers are soft-deleted: their orders keep their history. */
export const sellers = pgTable(
  'sellers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    description: text('description').notNull(),
    warehouseAddress: text('warehouse_address'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    deletedAt: ts('deleted_at'),
  },
  // Lists are keyset-paged on (created_at, id): every list's index ends with those two columns.
  (t) => [index('sellers_created_idx').on(t.createdAt, t.id).where(sql`${t.deletedAt} is null`)],
)

/** Every account: marketplace admins, seller users and customers. Emails are stored lowercased. */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    name: text('name').notNull(),
    role: text('role').$type<Role>().notNull(),
    sellerId: uuid('seller_id').references(() => sellers.id),
    isSellerAdmin: boolean('is_seller_admin').notNull().default(false),
    shippingAddress: text('shipping_address'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_email_uq').on(t.email),
    index('users_seller_idx').on(t.sellerId, t.createdAt, t.id),
    check('users_role_ck', sql`${t.role} in ('admin', 'seller', 'customer')`),
    check('users_seller_ck', sql`(${t.role} = 'seller') = (${t.sellerId} is not null)`),
  ],
)

/**
 * Login throttling, shared by every replica: one row per account (`account:<email>`) and per client
 * address (`address:<ip>`) with recent login attempts. `attempts` counts the attempts of the
 * current window not yet known to be correct (a success takes its own back), `locked_until` refuses
 * every login of the key until then, `lockouts` makes each lock twice as long as the one before.
 */
export const loginThrottles = pgTable(
  'login_throttles',
  {
    key: text('key').primaryKey(),
    attempts: integer('attempts').notNull(),
    windowStartedAt: ts('window_started_at').notNull(),
    lockedUntil: ts('locked_until'),
    lockouts: integer('lockouts').notNull().default(0),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [index('login_throttles_updated_idx').on(t.updatedAt)],
)

/** Products are soft-deleted (orders reference them); a sku is unique among a seller's live products. */
export const products = pgTable(
  'products',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sellerId: uuid('seller_id')
      .notNull()
      .references(() => sellers.id),
    sku: text('sku').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull(),
    /**
     * Units in stock: set up to 1 000 000 000 through the API, raised by cancels beyond that. A
     * bigint, so giving stock back never overflows; capped at 2^53 − 1 (what JSON numbers hold
     * exactly), the cap a cancel saturates at (see `MAX_STOCK`).
     */
    quantity: bigint('quantity', { mode: 'number' }).notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    deletedAt: ts('deleted_at'),
  },
  (t) => [
    uniqueIndex('products_seller_sku_uq').on(t.sellerId, t.sku).where(sql`${t.deletedAt} is null`),
    index('products_catalogue_idx').on(t.createdAt, t.id).where(sql`${t.deletedAt} is null`),
    index('products_seller_idx').on(t.sellerId, t.createdAt, t.id),
    check('products_quantity_ck', sql`${t.quantity} between 0 and 9007199254740991`),
  ],
)

export const purchases = pgTable(
  'purchases',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => users.id),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  // Every foreign key has an index leading with it (test/foreign-keys.test.ts).
  (t) => [index('purchases_customer_idx').on(t.customerId)],
)

/** One order per seller of a purchase; names and addresses are snapshots taken at purchase time. */
export const orders = pgTable(
  'orders',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    purchaseId: uuid('purchase_id')
      .notNull()
      .references(() => purchases.id),
    sellerId: uuid('seller_id')
      .notNull()
      .references(() => sellers.id),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => users.id),
    status: text('status').$type<OrderStatus>().notNull().default('created'),
    deliveryName: text('delivery_name').notNull(),
    deliveryAddress: text('delivery_address').notNull(),
    originAddress: text('origin_address').notNull(),
    trackingNumber: text('tracking_number'),
    /** The parcel's public tracking page, as the delivery service answered it at dispatch (`tracking_url`). */
    trackingUrl: text('tracking_url'),
    deliveryStatus: text('delivery_status').$type<DeliveryStatus>(),
    /** `data.date` of the last applied delivery event: older events are ignored. */
    deliveryStatusAt: ts('delivery_status_at'),
    /**
     * Internal dispatch bookkeeping (never in the API). Set before the first create-delivery call:
     * an order without it has no delivery on the delivery service, whatever happened.
     */
    dispatchAttemptedAt: ts('dispatch_attempted_at'),
    /** Dispatch calls in flight, and until when they may run (a crashed one stops counting then). */
    dispatchInflight: integer('dispatch_inflight').notNull().default(0),
    dispatchLeaseUntil: ts('dispatch_lease_until'),
    /** A create-delivery call that timed out may still land until then: cancelling waits. */
    dispatchUnsettledUntil: ts('dispatch_unsettled_until'),
    /** A cancel is withdrawing the order's delivery until then: dispatching waits. */
    cancelLeaseUntil: ts('cancel_lease_until'),
    /**
     * A withdrawal (DELETE) that timed out may still land until then; after it, the cancel is settled
     * by looking (`settleInterruptedCancels`), like one whose process died with its lease taken.
     */
    cancelUnsettledUntil: ts('cancel_unsettled_until'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // GET /orders for a seller, a customer, an admin, each with or without ?status=: one index
    // range scan in (created_at, id) order whatever the depth (a customer's orders are few: its
    // status filter reads them all).
    index('orders_seller_idx').on(t.sellerId, t.createdAt, t.id),
    index('orders_seller_status_idx').on(t.sellerId, t.status, t.createdAt, t.id),
    index('orders_customer_idx').on(t.customerId, t.createdAt, t.id),
    index('orders_purchase_idx').on(t.purchaseId),
    index('orders_created_idx').on(t.createdAt, t.id),
    index('orders_status_idx').on(t.status, t.createdAt, t.id),
    // The few orders whose cancel was interrupted (see settleInterruptedCancels).
    index('orders_cancel_interrupted_idx').on(t.id).where(sql`${t.cancelLeaseUntil} is not null or ${t.cancelUnsettledUntil} is not null`),
    // The few confirmed orders with a dispatch in flight or interrupted (see settleInterruptedDispatches).
    index('orders_dispatch_interrupted_idx')
      .on(t.id)
      .where(sql`${t.status} = 'confirmed' and (${t.dispatchLeaseUntil} is not null or ${t.dispatchUnsettledUntil} is not null)`),
    check('orders_status_ck', sql`${t.status} in ('created', 'confirmed', 'dispatched', 'delivered', 'cancelled')`),
  ],
)

export const orderItems = pgTable(
  'order_items',
  {
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    productId: uuid('product_id')
      .notNull()
      .references(() => products.id),
    sku: text('sku').notNull(),
    name: text('name').notNull(),
    quantity: integer('quantity').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.productId] }),
    check('order_items_quantity_ck', sql`${t.quantity} > 0`),
    // Every foreign key has an index leading with it (test/foreign-keys.test.ts).
    index('order_items_product_idx').on(t.productId),
  ],
)

/** The status history of every order, appended in the transaction of each change. */
export const orderEvents = pgTable(
  'order_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    status: text('status').$type<OrderStatus>().notNull(),
    actorId: uuid('actor_id'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('order_events_order_idx').on(t.orderId, t.id)],
)

/** `Idempotency-Key` of POST /purchases: the first successful answer, replayed for a retry. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    customerId: uuid('customer_id')
      .notNull()
      .references(() => users.id),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code').notNull(),
    response: jsonb('response').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.customerId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)],
)

/**
 * `webhook-id`s already received from the delivery service: a repeated event changes nothing. Kept
 * WEBHOOK_RETENTION_DAYS, then purged in small batches (the received_at index).
 */
export const processedWebhooks = pgTable(
  'processed_webhooks',
  {
    webhookId: text('webhook_id').primaryKey(),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [index('processed_webhooks_received_idx').on(t.receivedAt)],
)
