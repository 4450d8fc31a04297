import { DELIVERY_STATUSES, DELIVERY_TRANSITIONS, isFinalDeliveryStatus, WEBHOOK_EVENT_TYPE } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { type SQL, sql } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'

/** Advisory-lock key of the tick: one replica at a time advances deliveries. */
const TICK_LOCK_ID = 727_002

/**
 * The next status of every status as one SQL CASE, generated from the shared transition table so
 * the table stays the single source of the rule. A status with two successors draws one per row:
 * `random() < 0.5` picks the first (as `nextDeliveryStatus(from, draw)` does with `draw < 0.5`).
 */
function nextStatusSql(column: string): SQL {
  const branches = DELIVERY_STATUSES.filter((s) => !isFinalDeliveryStatus(s)).map((from) => {
    const next = DELIVERY_TRANSITIONS[from]
    const to = next.length === 1 ? `'${next[0]}'` : `case when random() < 0.5 then '${next[0]}' else '${next[1]}' end`
    return `when '${from}' then ${to}`
  })
  return sql.raw(`case ${column} ${branches.join(' ')} end`)
}

const FINAL_STATUSES_SQL = sql.raw(
  DELIVERY_STATUSES.filter(isFinalDeliveryStatus)
    .map((s) => `'${s}'`)
    .join(', '),
)

export type TickResult = { ran: true; moved: number; events: number } | { ran: false; reason: 'locked' | 'too-soon'; moved: 0; events: 0 }

export type TickOptions = {
  /** The tick's time (tracking event dates, webhook dates). */
  now?: Date
  /**
   * A tick within this many ms of the last applied one is skipped: a late or duplicate tick (two
   * replicas firing at once) does not step deliveries twice. Half the tick interval in production.
   */
  minGapMs?: number
  /** Seeds Postgres' random() for this tick (tests). */
  seed?: number
}

/**
 * The statements of one tick, in order: take the advisory lock (skip when another replica holds
 * it), record the tick time unless the last one is too recent (skip), then advance every open
 * delivery, append its tracking event and write its outbox rows in one statement.
 */
export function tickStatements(now: Date, minGapMs = 0) {
  const iso = now.toISOString()
  const earliestPrevious = new Date(now.getTime() - minGapMs).toISOString()
  return {
    lock: sql`select pg_try_advisory_xact_lock(${TICK_LOCK_ID}) as locked`,
    guard: sql`insert into tick_state (id, last_tick_at) values (1, ${iso})
          on conflict (id) do update set last_tick_at = excluded.last_tick_at
          where tick_state.last_tick_at <= ${earliestPrevious}
          returning id`,
    advance: sql`
      with open as (
        select id, status from deliveries where status not in (${FINAL_STATUSES_SQL})
      ), moved as (
        update deliveries d
        set status = ${nextStatusSql('o.status')}, updated_at = ${iso}
        from open o
        where d.id = o.id
        returning d.id, d.client_id, d.tracking_number, d.foreign_order_id, d.status, o.status as previous_status
      ), history as (
        insert into tracking_events (delivery_id, status, previous_status, created_at)
        select id, status, previous_status, ${iso} from moved
      ), subscriptions as (
        -- Locked FOR KEY SHARE: the purge of a deleted subscription waits for this tick (see
        -- purgeSubscription). A disabled endpoint's events are written given up (recover reaches them).
        select id, client_id, disabled_at is not null as disabled from webhook_subscriptions
        where deleted_at is null
        for key share
      ), outbox as (
        insert into webhook_events (subscription_id, delivery_id, payload, next_attempt_at, created_at, state, last_error)
        select s.id, m.id,
          -- The body, concatenated (3x cheaper than json_build_object over 100 000 rows); only the
          -- client-supplied foreign order id needs JSON escaping, the rest are our own formats.
          ${`{"type":"${WEBHOOK_EVENT_TYPE}","timestamp":"${iso}","data":{"tracking_number":"`}::text || m.tracking_number
            || '","foreign_order_id":' || to_json(m.foreign_order_id)::text
            || ',"status":"' || m.status || '","previous_status":"' || m.previous_status
            || ${`","date":"${iso}"}}`}::text,
          ${iso}, ${iso},
          case when s.disabled then 'failed' else 'pending' end, case when s.disabled then 'endpoint-disabled' end
        from moved m
        join subscriptions s on s.client_id = m.client_id
        returning 1
      )
      select (select count(*) from moved)::int as moved, (select count(*) from outbox)::int as events`,
  }
}

/**
 * One tick: every non-final delivery moves exactly one step, as one set-based transaction that
 * also appends the tracking events and writes one webhook outbox row per subscription of the
 * delivery's client. Only the replica holding the advisory lock runs it; the others skip.
 */
export async function advanceDeliveries(db: DeliveryDb, options: TickOptions = {}): Promise<TickResult> {
  const statements = tickStatements(options.now ?? new Date(), options.minGapMs)
  return db.transaction(async (tx) => {
    const [lock] = await queryRows<{ locked: boolean }>(tx, statements.lock)
    if (!lock?.locked) return { ran: false, reason: 'locked', moved: 0, events: 0 } as const
    if ((await queryRows(tx, statements.guard)).length === 0) return { ran: false, reason: 'too-soon', moved: 0, events: 0 } as const
    if (options.seed !== undefined) await tx.execute(sql`select setseed(${options.seed})`)
    const [result] = await queryRows<{ moved: number; events: number }>(tx, statements.advance)
    return { ran: true, moved: Number(result?.moved ?? 0), events: Number(result?.events ?? 0) } as const
  })
}
