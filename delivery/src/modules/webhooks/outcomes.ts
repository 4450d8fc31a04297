import { queryRows } from '@logistics/shared/db'
import { sql } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'
import type { EndpointOutcome, EndpointRule } from './endpoints'

/** The outcome of one attempt, as buffered by the dispatcher until written. */
export type Outcome = {
  id: string
  subscription_id: string
  status_code: number | null
  error: string | null
  duration_ms: number
  at: string
  state: 'pending' | 'delivered' | 'failed'
  next_at: string | null
}

/**
 * Writes a batch of outcomes in one statement (one round trip per batch instead of a transaction
 * per event): the attempt rows, the events' states and the endpoints' health (see endpoints.ts).
 * Answers the subscriptions the batch disabled (their other pending events are given up next).
 *
 * - Only events that still exist: a webhook purged while its event was in flight took the event
 *   with it, so there is nothing to record. The key-share lock keeps a concurrent purge from removing
 *   the event before its attempt is written (and the purge removes a subscription's row only after
 *   its events). Not on the subscription: this statement updates that row (health), and a lock taken
 *   after its own update finds no row. Correlated lookups by primary key: a join here let a plan
 *   made on stale statistics scan the whole table for every batch.
 * - An event given up meanwhile (its delivery withdrawn, its endpoint disabled) stays given up unless
 *   this attempt delivered it; a retry of a disabled endpoint's event is given up.
 * - Endpoint health is written only for endpoints that failed or were failing, their rows locked in
 *   id order (two replicas' batches never deadlock), the new values computed from the row itself so
 *   concurrent batches add up.
 */
export async function writeOutcomes(db: DeliveryDb, batch: Outcome[], endpoints: EndpointOutcome[], rule: EndpointRule): Promise<string[]> {
  const failures = sql`(case when h.ok then h.failures else s.consecutive_failures + h.failures end)`
  const since = sql`(case when h.failures = 0 then null when h.ok then h.first_failure_at else coalesce(s.failing_since, h.first_failure_at) end)`
  // The wait before the next probe: as long as the run has lasted so far (at least baseMs, at most
  // maxMs), so it doubles with each failed probe. Not by the number of failures: the sends a healthy
  // endpoint had in flight when it went down (up to 32) all fail at once, and counted as 32 doublings
  // they sent an endpoint down for seconds to the 5-minute maximum at once.
  const runMs = sql`extract(epoch from (h.last_failure_at - ${since})) * 1000`
  const delayMs = sql`least(${rule.maxMs}::float8, greatest(${rule.baseMs}::float8, ${runMs})) * (0.75 + h.jitter * 0.5)`
  const rows = await queryRows<{ id: string }>(
    db,
    sql`
    with r as (
      select * from jsonb_to_recordset(${JSON.stringify(batch)}::jsonb) as x(
        id uuid, subscription_id uuid, status_code int, error text, duration_ms int,
        at timestamptz, state text, next_at timestamptz)
    ), live as (
      select r.* from r
      where exists (select 1 from webhook_events ev where ev.id = r.id for key share)
        and exists (select 1 from webhook_subscriptions s where s.id = r.subscription_id)
    ), attempts as (
      insert into webhook_attempts (event_id, subscription_id, status_code, error, duration_ms, attempted_at)
      select id, subscription_id, status_code, error, duration_ms, at from live
    ), h as (
      select * from jsonb_to_recordset(${JSON.stringify(endpoints)}::jsonb) as x(
        subscription_id uuid, ok boolean, failures int, first_failure_at timestamptz,
        last_failure_at timestamptz, last_error text, jitter float8)
    ), h_locked as materialized (
      select s.id from webhook_subscriptions s join h on h.subscription_id = s.id
      where h.failures > 0 or s.consecutive_failures > 0
      order by s.id
      for no key update of s
    ), health as (
      update webhook_subscriptions s set
        consecutive_failures = ${failures},
        failing_since = ${since},
        retry_at = case when h.failures = 0 then null else h.last_failure_at + ${delayMs} * interval '1 millisecond' end,
        last_error = coalesce(h.last_error, s.last_error),
        last_error_at = coalesce(h.last_failure_at, s.last_error_at),
        disabled_at = case
          when s.disabled_at is not null then s.disabled_at
          when h.failures > 0 and ${failures} >= ${rule.disableAfterFailures}
            and h.last_failure_at - ${since} >= ${rule.disableAfterMs} * interval '1 millisecond' then h.last_failure_at
        end
      from h, h_locked
      where s.id = h.subscription_id and s.id = h_locked.id
      returning s.id, s.disabled_at
    ), events as (
      update webhook_events e
      set state = case
            when live.state = 'delivered' then 'delivered'
            when e.state <> 'pending' then e.state
            when live.state = 'pending' and (
              exists (select 1 from health where health.id = live.subscription_id and health.disabled_at is not null)
              or exists (select 1 from webhook_subscriptions s where s.id = live.subscription_id and s.disabled_at is not null)
            ) then 'failed'
            else live.state
          end,
          delivered_at = case when live.state = 'delivered' then live.at else e.delivered_at end,
          next_attempt_at = coalesce(live.next_at, e.next_attempt_at),
          last_error = live.error
      from live
      where e.id = any(array(select id from live)) and e.id = live.id
    )
    select id from health where disabled_at is not null`,
  )
  return rows.map((r) => r.id)
}
