import { generateWebhookSecret, type ListEnvelope, notFound, type Pagination } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { paginateTable } from '@logistics/shared/pagination'
import { and, eq, ne, sql } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'
import { webhookAttempts, webhookEvents, webhookSubscriptions } from '../../db/schema'
import type { Webhook } from './model'

type SubscriptionRow = typeof webhookSubscriptions.$inferSelect

const toWebhook = (row: SubscriptionRow): Webhook => ({
  id: row.id,
  url: row.url,
  secret: row.secret,
  created_at: row.createdAt.toISOString(),
})

/** How long the secret replaced by a rotation is still signed with, next to the new one. */
const SECRET_ROTATION_GRACE_MS = 24 * 60 * 60_000

/**
 * Registers a webhook. The same URL again with the same (or no) secret returns the existing
 * subscription (`created: false`), so a client can register idempotently at every start; the same
 * URL with another secret rotates that subscription's secret in place (`rotated: true`): its
 * pending events are kept and sent with the new secret, also signed with the old one for
 * SECRET_ROTATION_GRACE_MS so a receiver still on the old secret verifies them.
 */
export async function registerWebhook(
  db: DeliveryDb,
  clientId: string,
  body: { url: string; secret?: string },
  now: Date = new Date(),
): Promise<{ created: boolean; rotated: boolean; webhook: Webhook }> {
  const [row] = await db
    .insert(webhookSubscriptions)
    .values({ clientId, url: body.url, secret: body.secret ?? generateWebhookSecret() })
    .onConflictDoNothing({ target: [webhookSubscriptions.clientId, webhookSubscriptions.url] })
    .returning()
  if (row) return { created: true, rotated: false, webhook: toWebhook(row) }
  const sameUrl = and(eq(webhookSubscriptions.clientId, clientId), eq(webhookSubscriptions.url, body.url))
  if (body.secret !== undefined) {
    // One statement: concurrent rotations each keep the secret they replaced as the previous one.
    const [rotated] = await db
      .update(webhookSubscriptions)
      .set({
        previousSecret: sql`${webhookSubscriptions.secret}`,
        previousSecretExpiresAt: new Date(now.getTime() + SECRET_ROTATION_GRACE_MS),
        secret: body.secret,
      })
      .where(and(sameUrl, ne(webhookSubscriptions.secret, body.secret)))
      .returning()
    if (rotated) return { created: false, rotated: true, webhook: toWebhook(rotated) }
  }
  const [existing] = await db.select().from(webhookSubscriptions).where(sameUrl)
  if (!existing) throw new Error('webhook vanished during registration')
  return { created: false, rotated: false, webhook: toWebhook(existing) }
}

export async function listWebhooks(db: DeliveryDb, clientId: string, page: Pagination): Promise<ListEnvelope<Omit<Webhook, 'secret'>>> {
  const where = eq(webhookSubscriptions.clientId, clientId)
  const { rows, meta } = await paginateTable(db, webhookSubscriptions, {
    page,
    keyset: { columns: [webhookSubscriptions.createdAt, webhookSubscriptions.id], direction: 'desc' },
    where,
  })
  return { data: rows.map((r) => ({ id: r.id, url: r.url, created_at: r.createdAt.toISOString() })), ...meta }
}

export async function findWebhook(db: DeliveryDb, clientId: string, id: string): Promise<Webhook> {
  const [row] = await db
    .select()
    .from(webhookSubscriptions)
    .where(and(eq(webhookSubscriptions.clientId, clientId), eq(webhookSubscriptions.id, id)))
  if (!row) throw notFound(`No webhook ${id}`)
  return toWebhook(row)
}

/** Removes a subscription; its events and their attempts go with it. */
export async function deleteWebhook(db: DeliveryDb, clientId: string, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const rows = await tx
      .delete(webhookSubscriptions)
      .where(and(eq(webhookSubscriptions.clientId, clientId), eq(webhookSubscriptions.id, id)))
      .returning({ id: webhookSubscriptions.id })
    if (rows.length === 0) throw notFound(`No webhook ${id}`)
    await tx.delete(webhookEvents).where(eq(webhookEvents.subscriptionId, id))
  })
}

/** The delivery log of a subscription, newest attempt first. */
export async function listAttempts(db: DeliveryDb, clientId: string, id: string, page: Pagination) {
  await findWebhook(db, clientId, id)
  const where = eq(webhookAttempts.subscriptionId, id)
  const { rows, meta } = await paginateTable(db, webhookAttempts, {
    page,
    keyset: { columns: [webhookAttempts.id], direction: 'desc' },
    where,
  })
  return {
    data: rows.map((r) => ({
      id: r.id,
      event_id: r.eventId,
      status_code: r.statusCode,
      error: r.error,
      duration_ms: r.durationMs,
      attempted_at: r.attemptedAt.toISOString(),
    })),
    ...meta,
  }
}

/** How many webhook events wait for delivery and the age of the oldest (null when none): /health and /metrics. */
export async function pendingWebhookStats(db: DeliveryDb): Promise<{ pending: number; oldestAgeSeconds: number | null }> {
  const [row] = await queryRows<{ pending: number; oldest: number | null }>(
    db,
    sql`select count(*)::int as pending, extract(epoch from (now() - min(created_at)))::float8 as oldest
        from webhook_events where state = 'pending'`,
  )
  const oldest = row?.oldest === null || row?.oldest === undefined ? null : Math.max(0, Math.floor(Number(row.oldest)))
  return { pending: Number(row?.pending ?? 0), oldestAgeSeconds: oldest }
}

/**
 * Puts a subscription's given-up (`failed`) events created at or after `since` back in the queue,
 * oldest first, for a fresh give-up window; events still pending are untouched. Each is re-queued
 * once: the row changes state, so a second recover (even a concurrent one) finds it no longer
 * failed. Answers how many were re-queued (404 for another client's subscription).
 */
export async function recoverWebhookEvents(db: DeliveryDb, clientId: string, id: string, since: Date, now = new Date()): Promise<number> {
  await findWebhook(db, clientId, id)
  const nowIso = now.toISOString()
  const rows = await queryRows<{ id: string }>(
    db,
    sql`
    with picked as (
      select id, row_number() over (order by seq) as n from webhook_events
      where subscription_id = ${id} and state = 'failed' and created_at >= ${since.toISOString()}
    )
    update webhook_events e
    -- Due now, one microsecond apart in their original order; attempts restart the backoff.
    set state = 'pending', attempts = 0, recovered_at = ${nowIso},
        next_attempt_at = ${nowIso}::timestamptz + picked.n * interval '1 microsecond'
    from picked
    where e.id = picked.id and e.state = 'failed'
    returning e.id`,
  )
  return rows.length
}
