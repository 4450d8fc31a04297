import type { DeliveryProduct, DeliveryStatus } from '@logistics/shared'
import { sql } from 'drizzle-orm'
import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

/**
 * API clients of the delivery service; keys are stored as SHA-256 hashes. A client left out of
 * `DELIVERY_API_KEYS` gets `disabled_at` at the next start (refused, its data kept); named again, it
 * is enabled again.
 */
export const apiClients = pgTable('api_clients', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  keyHash: text('key_hash').notNull().unique(),
  createdAt: ts('created_at').notNull().defaultNow(),
  disabledAt: ts('disabled_at'),
})

export const deliveries = pgTable(
  'deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clientId: uuid('client_id')
      .notNull()
      .references(() => apiClients.id),
    trackingNumber: text('tracking_number').notNull().unique(),
    foreignOrderId: text('foreign_order_id').notNull(),
    status: text('status').$type<DeliveryStatus>().notNull(),
    products: jsonb('products').$type<DeliveryProduct[]>().notNull(),
    originAddress: text('origin_address').notNull(),
    destinationName: text('destination_name').notNull(),
    destinationAddress: text('destination_address').notNull(),
    /** Hash of the normalised create request: the same order with another body answers 409. */
    requestHash: text('request_hash').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('deliveries_client_order_uq').on(t.clientId, t.foreignOrderId),
    index('deliveries_client_created_idx').on(t.clientId, t.createdAt, t.id),
    // No index on status: the tick rewrites it on every open row, and an index on it would rule
    // out HOT updates (see the 0001 migration's fillfactor). The tick scans the table anyway.
    // So `GET /deliveries?status=` walks the client's (created_at, id) index and filters.
  ],
)

/**
 * Append-only history: one row per status, the first being READY_FOR_PICK_UP at creation.
 * No foreign key to deliveries: the tick appends 100 000s of rows at once and the per-row key
 * check was a quarter of its time; `deleteDelivery` removes a delivery's history with it.
 */
export const trackingEvents = pgTable(
  'tracking_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deliveryId: uuid('delivery_id').notNull(),
    status: text('status').$type<DeliveryStatus>().notNull(),
    previousStatus: text('previous_status').$type<DeliveryStatus>(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('tracking_events_delivery_idx').on(t.deliveryId, t.id)],
)

/** The time of the last applied tick: a late or duplicate tick does not step twice. */
export const tickState = pgTable('tick_state', {
  id: integer('id').primaryKey(),
  lastTickAt: ts('last_tick_at').notNull(),
})

/**
 * A client's webhook endpoints. Besides the url and secrets, each row carries its endpoint's health:
 * the run of failed attempts (`consecutive_failures`, since `failing_since`), when it may be tried
 * again (`retry_at`: only one probe at a time goes to a failing endpoint), and `disabled_at` once the
 * run was long enough (docs/webhooks.md). `deleted_at`: removed by its client (gone from the API at
 * once; the purge worker removes the row, its events and attempts in small batches).
 */
export const webhookSubscriptions = pgTable(
  'webhook_subscriptions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clientId: uuid('client_id')
      .notNull()
      .references(() => apiClients.id),
    url: text('url').notNull(),
    secret: text('secret').notNull(),
    /**
     * The secret replaced by the last rotation, still signed with (next to `secret`) until
     * `previousSecretExpiresAt`, so a receiver in the middle of its own rollout still verifies.
     */
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: ts('previous_secret_expires_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    failingSince: ts('failing_since'),
    /** While failing: no attempt before this (the next probe); a claimed probe pushes it by the lease. */
    retryAt: ts('retry_at'),
    lastError: text('last_error'),
    lastErrorAt: ts('last_error_at'),
    disabledAt: ts('disabled_at'),
    deletedAt: ts('deleted_at'),
  },
  (t) => [
    // A deleted subscription's url can be registered again at once.
    uniqueIndex('webhook_subscriptions_client_url_uq').on(t.clientId, t.url).where(sql`${t.deletedAt} is null`),
    index('webhook_subscriptions_client_created_idx').on(t.clientId, t.createdAt, t.id),
    index('webhook_subscriptions_deleted_idx').on(t.deletedAt).where(sql`${t.deletedAt} is not null`),
  ],
)

/**
 * The transactional outbox: one row per status change and subscription, written in the same
 * transaction as the change. `id` is the Standard Webhooks `webhook-id`. No foreign key to the
 * subscription (the tick writes these in bulk); the purge of a deleted subscription removes its
 * events, and the retention job those delivered or given up WEBHOOK_RETENTION_DAYS ago.
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    subscriptionId: uuid('subscription_id').notNull(),
    deliveryId: uuid('delivery_id').notNull(),
    /** The exact JSON body sent (and signed). */
    payload: text('payload').notNull(),
    state: text('state').$type<'pending' | 'delivered' | 'failed'>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    deliveredAt: ts('delivered_at'),
    /** When a given-up event was put back in the queue (POST /webhooks/{id}/recover): its give-up window restarts. */
    recoveredAt: ts('recovered_at'),
  },
  (t) => [
    // The claim: each subscription's due events, oldest first.
    index('webhook_events_subscription_due_idx').on(t.subscriptionId, t.nextAttemptAt).where(sql`${t.state} = 'pending'`),
    // The claim's order rule (one delivery's events to one subscription in order) and a withdrawal's
    // lookup. Full, not partial: on statistics taken while the queue was empty, PostgreSQL takes
    // every partial (pending) index for empty and free to scan whole, and read a subscription's
    // whole due index for each candidate instead (70 ms a claim at 10 000 pending, 400 ms at 50 000).
    index('webhook_events_delivery_idx').on(t.deliveryId, t.subscriptionId, t.seq),
    // A subscription's finished (delivered, given-up) events by age: recover, retention, the purge of
    // a deleted subscription (its pending ones through the order index). Partial: a pending event,
    // written and leased again and again, never touches it.
    index('webhook_events_finished_idx').on(t.subscriptionId, t.createdAt).where(sql`${t.state} <> 'pending'`),
  ],
)

/** Every delivery attempt of a webhook event, for GET /webhooks/{id}/attempts. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    eventId: uuid('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    subscriptionId: uuid('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    attemptedAt: ts('attempted_at').notNull().defaultNow(),
  },
  (t) => [
    index('webhook_attempts_subscription_idx').on(t.subscriptionId, t.id),
    // The cascade when an event is deleted (purge, retention) finds its attempts by this.
    index('webhook_attempts_event_idx').on(t.eventId),
  ],
)
