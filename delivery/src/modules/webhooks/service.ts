import { and, eq } from 'drizzle-orm'
import { paginate } from '@logistics/shared/pagination'
import { type ListEnvelope, type Pagination, conflict, generateWebhookSecret, notFound } from '@logistics/shared'
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

/**
 * Registers a webhook. The same URL again with the same (or no) secret returns the existing
 * subscription (`created: false`), so a client can register idempotently at every start; the same
 * URL with another secret is a 409.
 */
export async function registerWebhook(
  db: DeliveryDb,
  clientId: string,
  body: { url: string; secret?: string },
): Promise<{ created: boolean; webhook: Webhook }> {
  const [row] = await db
    .insert(webhookSubscriptions)
    .values({ clientId, url: body.url, secret: body.secret ?? generateWebhookSecret() })
    .onConflictDoNothing({ target: [webhookSubscriptions.clientId, webhookSubscriptions.url] })
    .returning()
  if (row) return { created: true, webhook: toWebhook(row) }
  const [existing] = await db
    .select()
    .from(webhookSubscriptions)
    .where(and(eq(webhookSubscriptions.clientId, clientId), eq(webhookSubscriptions.url, body.url)))
  if (!existing) throw new Error('webhook vanished during registration')
  if (body.secret !== undefined && body.secret !== existing.secret)
    throw conflict('webhook-exists', `A webhook for ${body.url} is already registered with another secret (id ${existing.id})`, {
      id: existing.id,
    })
  return { created: false, webhook: toWebhook(existing) }
}

export async function listWebhooks(db: DeliveryDb, clientId: string, page: Pagination): Promise<ListEnvelope<Omit<Webhook, 'secret'>>> {
  const where = eq(webhookSubscriptions.clientId, clientId)
  const { rows, meta } = await paginate(db, {
    page,
    keyset: { columns: [webhookSubscriptions.createdAt, webhookSubscriptions.id], direction: 'desc' },
    where,
    rows: (q) =>
      db.select({ r: webhookSubscriptions, key: q.key }).from(webhookSubscriptions).where(q.where).orderBy(...q.orderBy).limit(q.limit).offset(q.offset),
    counted: (w) => db.select({ id: webhookSubscriptions.id }).from(webhookSubscriptions).where(w).$dynamic(),
  })
  return { data: rows.map(({ r }) => ({ id: r.id, url: r.url, created_at: r.createdAt.toISOString() })), ...meta }
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
  const { rows, meta } = await paginate(db, {
    page,
    keyset: { columns: [webhookAttempts.id], direction: 'desc' },
    where,
    rows: (q) => db.select({ r: webhookAttempts, key: q.key }).from(webhookAttempts).where(q.where).orderBy(...q.orderBy).limit(q.limit).offset(q.offset),
    counted: (w) => db.select({ id: webhookAttempts.id }).from(webhookAttempts).where(w).$dynamic(),
  })
  return {
    data: rows.map(({ r }) => ({
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
