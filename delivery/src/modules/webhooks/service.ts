import { conflict, generateWebhookSecret, type ListEnvelope, notFound, type Pagination } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { paginateTable } from '@logistics/shared/pagination'
import { and, eq, isNull, sql } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'
import { webhookAttempts, webhookSubscriptions } from '../../db/schema'
import { endpointState } from './endpoints'
import type { Webhook, WebhookSummary } from './model'

type SubscriptionRow = typeof webhookSubscriptions.$inferSelect

const iso = (d: Date | null) => (d ? d.toISOString() : null)

const toSummary = (row: SubscriptionRow): WebhookSummary => ({
  id: row.id,
  url: row.url,
  created_at: row.createdAt.toISOString(),
  state: endpointState(row),
  consecutive_failures: row.consecutiveFailures,
  failing_since: iso(row.failingSince),
  last_error: row.lastError,
  last_error_at: iso(row.lastErrorAt),
  disabled_at: iso(row.disabledAt),
})

const toWebhook = (row: SubscriptionRow): Webhook => ({ ...toSummary(row), secret: row.secret })

/** A client's live (not deleted) subscription `id`. */
const own = (clientId: string, id: string) =>
  and(eq(webhookSubscriptions.clientId, clientId), eq(webhookSubscriptions.id, id), isNull(webhookSubscriptions.deletedAt))

/** How long the secret replaced by a rotation is still signed with, next to the new one. */
const SECRET_ROTATION_GRACE_MS = 24 * 60 * 60_000

/** What enabling an endpoint sets: active, its run of failures forgotten, tried at once. */
const ENABLED = { disabledAt: null, consecutiveFailures: 0, failingSince: null, retryAt: null } as const

/**
 * Registers a webhook. The same URL again with the same (or no) secret returns the existing
 * subscription (`created: false`), so a client can register idempotently at every start; the same
 * URL with another secret rotates that subscription's secret in place (`rotated: true`): its
 * pending events are kept and sent with the new secret, also signed with the old one for
 * SECRET_ROTATION_GRACE_MS so a receiver still on the old secret verifies them. Registering the url
 * of a disabled endpoint enables it again, and that of a failing one has it probed at once. A new url
 * beyond `limit` live subscriptions answers 409 `too-many-subscriptions`.
 *
 * One registration of a client at a time: its api_clients row is locked (FOR NO KEY UPDATE, which
 * a new delivery's foreign-key check does not wait for), so two concurrent registrations cannot both
 * count 9 and make 11, and concurrent rotations each keep the secret they replaced as the previous one.
 */
export async function registerWebhook(
  db: DeliveryDb,
  clientId: string,
  body: { url: string; secret?: string },
  limit: number,
  now: Date = new Date(),
): Promise<{ created: boolean; webhook: Webhook }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select id from api_clients where id = ${clientId} for no key update`)
    const [existing] = await tx
      .select()
      .from(webhookSubscriptions)
      .where(
        and(eq(webhookSubscriptions.clientId, clientId), eq(webhookSubscriptions.url, body.url), isNull(webhookSubscriptions.deletedAt)),
      )
    if (!existing) {
      const live = await tx.$count(
        webhookSubscriptions,
        and(eq(webhookSubscriptions.clientId, clientId), isNull(webhookSubscriptions.deletedAt)),
      )
      if (live >= limit)
        throw conflict(
          'too-many-subscriptions',
          `A client may have at most ${limit} webhooks; delete one (DELETE /webhooks/{id}) before registering another`,
          { limit },
        )
      const [row] = await tx
        .insert(webhookSubscriptions)
        .values({ clientId, url: body.url, secret: body.secret ?? generateWebhookSecret() })
        .returning()
      return { created: true, webhook: toWebhook(row!) }
    }
    const rotate =
      body.secret !== undefined && body.secret !== existing.secret
        ? {
            previousSecret: existing.secret,
            previousSecretExpiresAt: new Date(now.getTime() + SECRET_ROTATION_GRACE_MS),
            secret: body.secret,
          }
        : {}
    // A disabled endpoint is enabled; a failing one is probed at once (its client says it is up: a
    // receiver registers at start-up), its run of failures kept.
    const enable = existing.disabledAt ? ENABLED : existing.retryAt ? { retryAt: null } : {}
    if (Object.keys(rotate).length + Object.keys(enable).length === 0) return { created: false, webhook: toWebhook(existing) }
    const [updated] = await tx
      .update(webhookSubscriptions)
      .set({ ...rotate, ...enable })
      .where(eq(webhookSubscriptions.id, existing.id))
      .returning()
    return { created: false, webhook: toWebhook(updated!) }
  })
}

export async function listWebhooks(db: DeliveryDb, clientId: string, page: Pagination): Promise<ListEnvelope<WebhookSummary>> {
  const where = and(eq(webhookSubscriptions.clientId, clientId), isNull(webhookSubscriptions.deletedAt))
  const { rows, meta } = await paginateTable(db, webhookSubscriptions, {
    page,
    keyset: { columns: [webhookSubscriptions.createdAt, webhookSubscriptions.id], direction: 'desc' },
    where,
  })
  return { data: rows.map(toSummary), ...meta }
}

export async function findWebhook(db: DeliveryDb, clientId: string, id: string): Promise<Webhook> {
  const [row] = await db.select().from(webhookSubscriptions).where(own(clientId, id))
  if (!row) throw notFound(`No webhook ${id}`)
  return toWebhook(row)
}

/**
 * Enables an endpoint again (a disabled or failing one): active, tried at once. What it missed
 * while disabled was given up; `recover` re-sends it. Idempotent.
 */
export async function enableWebhook(db: DeliveryDb, clientId: string, id: string): Promise<Webhook> {
  const [row] = await db.update(webhookSubscriptions).set(ENABLED).where(own(clientId, id)).returning()
  if (!row) throw notFound(`No webhook ${id}`)
  return toWebhook(row)
}

/**
 * Removes a subscription: one row marked deleted, whatever its history. It is gone at once from
 * lists, lookups, claims and the limit, and its url can be registered again; the purge worker
 * (retention.ts) removes its events and attempts in small batches.
 */
export async function deleteWebhook(db: DeliveryDb, clientId: string, id: string, now: Date = new Date()): Promise<void> {
  const rows = await db
    .update(webhookSubscriptions)
    .set({ deletedAt: now })
    .where(own(clientId, id))
    .returning({ id: webhookSubscriptions.id })
  if (rows.length === 0) throw notFound(`No webhook ${id}`)
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

/**
 * How many webhook events wait for delivery, the age of the oldest (null when none) and how many
 * endpoints are disabled: /health and /metrics. A deleted subscription's events (awaiting the
 * purge) do not count.
 */
export async function pendingWebhookStats(
  db: DeliveryDb,
): Promise<{ pending: number; oldestAgeSeconds: number | null; disabledEndpoints: number }> {
  const [row] = await queryRows<{ pending: number; oldest: number | null; disabled: number }>(
    db,
    sql`select count(*)::int as pending, extract(epoch from (now() - min(e.created_at)))::float8 as oldest,
          (select count(*)::int from webhook_subscriptions where disabled_at is not null and deleted_at is null) as disabled
        from webhook_events e
        where e.state = 'pending'
          and not exists (select 1 from webhook_subscriptions s where s.id = e.subscription_id and s.deleted_at is not null)`,
  )
  const oldest = row?.oldest === null || row?.oldest === undefined ? null : Math.max(0, Math.floor(Number(row.oldest)))
  return { pending: Number(row?.pending ?? 0), oldestAgeSeconds: oldest, disabledEndpoints: Number(row?.disabled ?? 0) }
}
