import type { Logger } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { errorFields, outageTracker } from '@logistics/shared/db-errors'
import { type SQL, sql } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'

/**
 * The webhook tables' upkeep, in small batches (each its own short statement, rows another replica
 * holds are skipped, so replicas can run it side by side and nothing waits on it for long):
 *
 * - the purge of deleted subscriptions: DELETE /webhooks/{id} only marks the row; this removes its
 *   attempts, then its events, then the row;
 * - the pending events of disabled endpoints are given up (state `failed`, so `recover` reaches them);
 * - retention: attempts logged, and events delivered or given up, more than WEBHOOK_RETENTION_DAYS
 *   ago (by when the attempt was made, and when the event was written) are deleted. Pending events
 *   are never pruned; nor are deliveries or their tracking history (the product's data).
 */

const DEFAULT_BATCH = 1_000
const ids = (list: string[]) => sql`(select value::uuid from jsonb_array_elements_text(${JSON.stringify(list)}::jsonb))`

/** Runs `statement` (which deletes or updates at most one batch and returns one row per row touched) until a batch comes back short. */
async function inBatches(db: DeliveryDb, batchSize: number, statement: () => SQL): Promise<number> {
  let total = 0
  for (;;) {
    const rows = await queryRows(db, statement())
    total += rows.length
    if (rows.length < batchSize) return total
  }
}

/**
 * Gives up the pending events of disabled endpoints (`subscriptionIds`, or every disabled one), so
 * nothing is sent while disabled and `recover` re-sends them once the client enables the endpoint.
 * An event in flight stays leased; its outcome keeps it given up unless it was delivered.
 */
export function giveUpDisabledEvents(db: DeliveryDb, subscriptionIds?: string[], batchSize = DEFAULT_BATCH): Promise<number> {
  const subscriptions = subscriptionIds
    ? ids(subscriptionIds)
    : sql`(select id from webhook_subscriptions where disabled_at is not null and deleted_at is null)`
  return inBatches(
    db,
    batchSize,
    () => sql`
    with batch as (
      select e.id from webhook_events e
      where e.subscription_id in ${subscriptions} and e.state = 'pending'
      limit ${sql.raw(String(batchSize))}
      for update of e skip locked
    )
    update webhook_events w set state = 'failed', last_error = 'endpoint-disabled'
    from batch where w.id = batch.id
    returning 1`,
  )
}

/**
 * Removes one deleted subscription with its history. First a fence: a lock on its row that waits for
 * every transaction still writing events for it (the tick and a new delivery lock the subscriptions
 * they write for with FOR KEY SHARE; one that starts later sees it deleted). Then its attempts, then
 * its events (their cascade finds the few attempts written meanwhile by its event_id index), then the
 * row, each in batches of `batchSize`.
 */
export async function purgeSubscription(db: DeliveryDb, id: string, batchSize = DEFAULT_BATCH) {
  const fenced = await db.transaction((tx) =>
    queryRows(tx, sql`select id from webhook_subscriptions where id = ${id} and deleted_at is not null for update`),
  )
  if (fenced.length === 0) return { attempts: 0, events: 0 }
  const limit = sql.raw(String(batchSize))
  const attempts = await inBatches(
    db,
    batchSize,
    () => sql`
    with batch as (select id from webhook_attempts where subscription_id = ${id} limit ${limit} for update skip locked)
    delete from webhook_attempts a using batch where a.id = batch.id returning 1`,
  )
  // Finished events through webhook_events_finished_idx, then pending ones through the order index.
  let events = 0
  for (const state of [sql`state <> 'pending'`, sql`state = 'pending'`])
    events += await inBatches(
      db,
      batchSize,
      () => sql`
      with batch as (select id from webhook_events where subscription_id = ${id} and ${state} limit ${limit} for update skip locked)
      delete from webhook_events e using batch where e.id = batch.id returning 1`,
    )
  await db.execute(sql`delete from webhook_subscriptions where id = ${id} and deleted_at is not null`)
  return { attempts, events }
}

/** Purges every deleted subscription (oldest deletion first). */
export async function purgeDeletedSubscriptions(db: DeliveryDb, batchSize = DEFAULT_BATCH) {
  const deleted = await queryRows<{ id: string }>(
    db,
    sql`select id from webhook_subscriptions where deleted_at is not null order by deleted_at limit 100`,
  )
  const total = { subscriptions: 0, attempts: 0, events: 0 }
  for (const { id } of deleted) {
    const purged = await purgeSubscription(db, id, batchSize)
    total.subscriptions++
    total.attempts += purged.attempts
    total.events += purged.events
  }
  return total
}

/**
 * Retention: deletes attempts made, and delivered or given-up events written, before
 * `now - retentionDays`. Attempts go in id order up to the first one inside the window (ids follow
 * the time they were written, so no index on attempted_at is kept up on the hot path for this);
 * events per subscription through webhook_events_finished_idx (subscription_id, created_at).
 */
export async function pruneWebhookHistory(db: DeliveryDb, options: { retentionDays: number; now?: Date; batchSize?: number }) {
  const batchSize = options.batchSize ?? DEFAULT_BATCH
  const limit = sql.raw(String(batchSize))
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 24 * 60 * 60_000).toISOString()
  const [first] = await queryRows<{ id: number }>(
    db,
    sql`select id from webhook_attempts where attempted_at >= ${cutoff} order by id limit 1`,
  )
  const below = first ? sql`and id < ${first.id}` : sql``
  const attempts = await inBatches(
    db,
    batchSize,
    () => sql`
    with batch as (
      select id from webhook_attempts where attempted_at < ${cutoff} ${below}
      order by id limit ${limit} for update skip locked
    )
    delete from webhook_attempts a using batch where a.id = batch.id returning 1`,
  )
  const events = await inBatches(
    db,
    batchSize,
    () => sql`
    with batch as (
      select e.id from webhook_subscriptions s cross join lateral (
        select e.id from webhook_events e
        where e.subscription_id = s.id and e.created_at < ${cutoff} and e.state <> 'pending'
        limit ${limit}
        for update of e skip locked
      ) e
      limit ${limit}
    )
    delete from webhook_events w using batch where w.id = batch.id returning 1`,
  )
  return { attempts, events }
}

export type MaintenanceOptions = { retentionDays: number; intervalMs?: number; batchSize?: number }

/**
 * The upkeep above every `intervalMs` (default a minute; the first run 10 s after start), one run at
 * a time (tests call the functions above directly). A database outage is logged once.
 */
export function startWebhookMaintenance(db: DeliveryDb, logger: Logger, options: MaintenanceOptions) {
  const intervalMs = options.intervalMs ?? 60_000
  const outage = outageTracker(logger, 'webhook maintenance')
  let running: Promise<void> = Promise.resolve()
  let timer: ReturnType<typeof setTimeout> | null = null
  let stopped = false

  async function run() {
    try {
      const purged = await purgeDeletedSubscriptions(db, options.batchSize)
      const givenUp = await giveUpDisabledEvents(db, undefined, options.batchSize)
      const pruned = await pruneWebhookHistory(db, { retentionDays: options.retentionDays, batchSize: options.batchSize })
      outage.succeeded()
      if (purged.subscriptions + givenUp + pruned.attempts + pruned.events > 0)
        logger.info('webhook maintenance', {
          purged_subscriptions: purged.subscriptions,
          purged_events: purged.events,
          purged_attempts: purged.attempts,
          disabled_events_given_up: givenUp,
          expired_events: pruned.events,
          expired_attempts: pruned.attempts,
        })
    } catch (error) {
      if (!outage.failed(error)) logger.error('webhook maintenance failed', { error: errorFields(error) })
    }
  }

  const schedule = (ms: number) => {
    if (stopped) return
    timer = setTimeout(() => {
      running = run().finally(() => schedule(intervalMs))
    }, ms)
  }
  schedule(Math.min(10_000, intervalMs))

  return {
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    },
  }
}
