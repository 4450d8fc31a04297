import { queryRows } from '@logistics/shared/db'
import { sql } from 'drizzle-orm'
import type { DeliveryDb } from '../../db'

export type ClaimedEvent = {
  id: string
  subscription_id: string
  client_id: string
  url: string
  secret: string
  /** The secret replaced by a rotation less than the grace period ago (signed with too), else null. */
  previous_secret: string | null
  payload: string
  attempts: number
  created_at: Date | string
  recovered_at: Date | string | null
  /** The endpoint was failing when claimed: this send is its one probe. */
  probe: boolean
  /** Its subscription's place in this claim's round (1 = served first). */
  turn: number
}

export type ClaimLimits = {
  /** Events this claim may take in all. */
  room: number
  /** Events one subscription may have in flight on this replica (and take in one claim). */
  perSubscription: number
  /** Events one API client may have in flight on this replica, over all its subscriptions. */
  perClient: number
  /** This replica's sends in flight, by subscription and by client. */
  busySubscriptions: Map<string, number>
  busyClients: Map<string, number>
  /** The subscription served last in the previous claim's round: this one starts after it (round robin). */
  after: string | null
}

const NO_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000'
const json = (m: Map<string, number>) => JSON.stringify(Object.fromEntries(m))

/**
 * Claims due events fairly across subscriptions, with `FOR UPDATE SKIP LOCKED` (replicas share the
 * work, none takes the same event), and leases them by pushing `next_attempt_at` forward.
 *
 * - Only subscriptions that are live (not deleted, not disabled, their client not disabled), whose
 *   endpoint may be tried now (`retry_at`), and below their in-flight caps on this replica.
 * - A healthy endpoint gets up to `perSubscription` events minus those it has in flight; a failing
 *   one exactly one (its probe), and only when no other replica holds its probe: the probe leases the
 *   subscription's `retry_at` (skipping a row another claim has locked).
 * - Per subscription, only the oldest pending event of each delivery (one delivery's events arrive
 *   in order), oldest due first, found through (subscription_id, next_attempt_at), each one's
 *   predecessor looked up through (delivery_id, …): the cost is the events taken, not the events
 *   waiting (a claim stays a few ms with 50 000 due).
 * - The room is shared out round robin: every subscription's first event, then every second one…,
 *   subscriptions taking turns from the one after `after`, and no client beyond `perClient`.
 */
export async function claimDue(db: DeliveryDb, limits: ClaimLimits, now: Date, leaseMs: number): Promise<ClaimedEvent[]> {
  if (limits.room <= 0) return []
  const nowIso = now.toISOString()
  const leaseIso = new Date(now.getTime() + leaseMs).toISOString()
  const perSubscription = sql`${Math.max(1, Math.floor(limits.perSubscription))}::int`
  const perClient = sql`${Math.max(1, Math.floor(limits.perClient))}::int`
  const room = sql`${Math.floor(limits.room)}::int`
  // Parameters, so the statement's text never changes and PostgreSQL can keep its plan (planning
  // this statement costs several times running it). Every step looks up by index per subscription
  // or per event, so a plan made for any value is the right one (the old claim sorted the whole
  // queue when its limit was a parameter; this one has no step whose cost depends on it).
  return queryRows<ClaimedEvent>(
    db,
    sql`
    with busy_subscription as materialized (
      select key::uuid as id, value::int as n from jsonb_each_text(${json(limits.busySubscriptions)}::jsonb)
    ), busy_client as materialized (
      select key::uuid as id, value::int as n from jsonb_each_text(${json(limits.busyClients)}::jsonb)
    ), candidate as materialized (
      select s.id, s.client_id, s.consecutive_failures > 0 as probe,
        case when s.consecutive_failures > 0 then 1 else ${perSubscription} - coalesce(bs.n, 0) end as allowance,
        ${perClient} - coalesce(bc.n, 0) as client_room,
        row_number() over (order by s.id <= ${limits.after ?? NO_SUBSCRIPTION}::uuid, s.id) as turn
      from webhook_subscriptions s
      left join busy_subscription bs on bs.id = s.id
      left join busy_client bc on bc.id = s.client_id
      where s.deleted_at is null and s.disabled_at is null
        and (s.retry_at is null or s.retry_at <= ${nowIso})
        and coalesce(bc.n, 0) < ${perClient}
        and coalesce(bs.n, 0) < case when s.consecutive_failures > 0 then 1 else ${perSubscription} end
        -- A client left out of DELIVERY_API_KEYS is disabled: its events wait until it is named again.
        and not exists (select 1 from api_clients c where c.id = s.client_id and c.disabled_at is not null)
        -- Has a due event: a scalar subquery, one index probe per subscription (as EXISTS, PostgreSQL
        -- made it a hash join over every due event: 17 ms at 50 000).
        and (
          select 1 from webhook_events e
          where e.subscription_id = s.id and e.state = 'pending' and e.next_attempt_at <= ${nowIso}
          limit 1
        ) is not null
      order by turn
      limit ${room}
    ), share as materialized (
      -- Each subscription's part of the room (rounded up): a claim never reads more than it can take.
      select c.*, least(c.allowance, ceil(${room}::numeric / count(*) over ())::int) as take from candidate c
    ), picked as (
      select ev.id, c.id as subscription_id, c.client_id, c.probe, c.turn, c.client_room,
        row_number() over (partition by c.id order by ev.next_attempt_at, ev.id) as n
      from share c cross join lateral (
        select e.id, e.next_attempt_at from webhook_events e
        where e.subscription_id = c.id and e.state = 'pending' and e.next_attempt_at <= ${nowIso}
          and not exists (
            select 1 from webhook_events p
            where p.subscription_id = e.subscription_id and p.delivery_id = e.delivery_id
              and p.state = 'pending' and p.seq < e.seq
          )
        order by e.next_attempt_at
        limit c.take
      ) ev
    ), chosen as (
      select id, subscription_id, probe, turn from (
        select picked.*, row_number() over (partition by client_id order by n, turn) as client_n from picked
      ) x
      where client_n <= client_room
      order by n, turn
      limit ${room}
    ), probe_subscription as (
      select s.id from webhook_subscriptions s
      where s.id in (select subscription_id from chosen where probe)
        and s.consecutive_failures > 0 and (s.retry_at is null or s.retry_at <= ${nowIso})
      for no key update skip locked
    ), probe_lease as (
      update webhook_subscriptions s set retry_at = ${leaseIso}
      from probe_subscription p where s.id = p.id
      returning s.id
    ), locked as (
      -- "= any(array(…))": looked up by primary key whatever the statistics say (a join let a plan
      -- made while the queue was empty walk every due event for each chosen one).
      select e.id from webhook_events e
      where e.id = any(array(select id from chosen where not probe or subscription_id in (select id from probe_lease)))
        and e.state = 'pending' and e.next_attempt_at <= ${nowIso}
      for update of e skip locked
    )
    update webhook_events w
    set next_attempt_at = ${leaseIso}, attempts = w.attempts + 1
    from locked, chosen, webhook_subscriptions s
    where w.id = locked.id and chosen.id = locked.id and s.id = w.subscription_id
    returning w.id, w.subscription_id, s.client_id, s.url, s.secret,
      case when s.previous_secret_expires_at > ${nowIso} then s.previous_secret end as previous_secret,
      w.payload, w.attempts, w.created_at, w.recovered_at, s.consecutive_failures > 0 as probe, chosen.turn::int as turn`,
  )
}
