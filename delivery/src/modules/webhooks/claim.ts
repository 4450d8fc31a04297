import { queryRows } from '@logistics/shared/db'
import { type SQL, sql } from 'drizzle-orm'
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
  return queryRows<ClaimedEvent>(db, claimStatement(limits, now, leaseMs))
}

/** The claim's one statement (see claimDue); tests read its plan. */
export function claimStatement(limits: ClaimLimits, now: Date, leaseMs: number): SQL {
  const nowIso = now.toISOString()
  const leaseIso = new Date(now.getTime() + leaseMs).toISOString()
  const perSubscription = sql`${Math.max(1, Math.floor(limits.perSubscription))}::int`
  const perClient = sql`${Math.max(1, Math.floor(limits.perClient))}::int`
  const room = sql`${Math.floor(limits.room)}::int`
  // Parameters, so the statement's text never changes and PostgreSQL can keep its plan (planning
  // this statement costs several times running it). Every step looks up by index per subscription
  // or per event, so a plan made for any value is the right one (the old claim sorted the whole
  // queue when its limit was a parameter; this one has no step whose cost depends on it).
  const busySubscriptions = sql`${json(limits.busySubscriptions)}::jsonb`
  const busyClients = sql`${json(limits.busyClients)}::jsonb`
  const inFlight = (busy: SQL, id: SQL) => sql`coalesce((${busy} ->> ${id}::text)::int, 0)`
  return sql`
    with candidate as materialized (
      select s.id, s.client_id, s.consecutive_failures > 0 as probe,
        case when s.consecutive_failures > 0 then 1 else ${perSubscription} - ${inFlight(busySubscriptions, sql`s.id`)} end as allowance,
        ${perClient} - ${inFlight(busyClients, sql`s.client_id`)} as client_room,
        row_number() over (order by s.id <= ${limits.after ?? NO_SUBSCRIPTION}::uuid, s.id) as turn
      from webhook_subscriptions s
      where s.deleted_at is null and s.disabled_at is null
        and (s.retry_at is null or s.retry_at <= ${nowIso})
        and ${inFlight(busyClients, sql`s.client_id`)} < ${perClient}
        and ${inFlight(busySubscriptions, sql`s.id`)} < case when s.consecutive_failures > 0 then 1 else ${perSubscription} end
        -- A client left out of DELIVERY_API_KEYS is disabled: its events wait until it is named again.
        and not exists (select 1 from api_clients c where c.id = s.client_id and c.disabled_at is not null)
        -- Has a due event: its earliest pending one, read off (subscription_id, next_attempt_at) (as
        -- EXISTS, PostgreSQL made it a hash join over every due event: 17 ms at 50 000).
        and (select min(e.next_attempt_at) from webhook_events e where e.subscription_id = s.id and e.state = 'pending') <= ${nowIso}
      order by turn
      limit ${room}
    ), picked as (
      -- Each subscription's part of the room (rounded up), in its due order: a claim never reads
      -- more than it can take.
      -- (n is numbered out here, over the rows taken: numbered inside, PostgreSQL read every event due
      -- at the same time, a tick's thousands, to find the end of their peer group.)
      select ev.id, c.id as subscription_id, c.client_id, c.probe, c.turn, c.client_room,
        row_number() over (partition by c.id order by ev.next_attempt_at, ev.id) as n
      from candidate c cross join lateral (
        select e.id, e.next_attempt_at from webhook_events e
        where e.subscription_id = c.id and e.state = 'pending' and e.next_attempt_at <= ${nowIso}
          -- No earlier pending event of its (delivery, subscription), looked up in the full delivery
          -- index: the state spelled so that no partial (pending) index matches, for those look
          -- empty and free on statistics from an empty queue (see webhook_events_delivery_idx).
          and not exists (
            select 1 from webhook_events p
            where p.delivery_id = e.delivery_id and p.subscription_id = e.subscription_id and p.seq < e.seq
              and p.state not in ('delivered', 'failed')
          )
        order by e.next_attempt_at
        limit least(c.allowance, ceil(${room}::numeric / (select count(*) from candidate))::int)
      ) ev
    ), chosen as (
      select id, subscription_id, probe from (
        select picked.*, row_number() over (partition by client_id order by n, turn) as client_n from picked
      ) x
      where client_n <= client_room
      order by n, turn
      limit ${room}
    ), probe_lease as (
      -- Skips a subscription another claim has locked: that one is taking its probe.
      update webhook_subscriptions s set retry_at = ${leaseIso}
      where s.id in (
        select p.id from webhook_subscriptions p
        where p.id in (select subscription_id from chosen where probe)
          and p.consecutive_failures > 0 and (p.retry_at is null or p.retry_at <= ${nowIso})
        for no key update skip locked
      )
      returning s.id
    ), locked as (
      -- Looked up by primary key whatever the statistics say: "= any(array(…))", and the state
      -- spelled so that no partial (pending) index matches (on statistics from an empty queue, a
      -- join or "state = 'pending'" had PostgreSQL walk every due event for the chosen ones). The
      -- conditions stay here, so a row another replica leased meanwhile is re-checked and skipped.
      select e.id from webhook_events e
      where e.id = any(array(select id from chosen where not probe or subscription_id in (select id from probe_lease)))
        and e.state not in ('delivered', 'failed') and e.next_attempt_at <= ${nowIso}
      for update of e skip locked
    )
    update webhook_events w
    set next_attempt_at = ${leaseIso}, attempts = w.attempts + 1
    from locked, webhook_subscriptions s
    where w.id = locked.id and s.id = w.subscription_id
    returning w.id, w.subscription_id, s.client_id, s.url, s.secret,
      case when s.previous_secret_expires_at > ${nowIso} then s.previous_secret end as previous_secret,
      w.payload, w.attempts, w.created_at, w.recovered_at, s.consecutive_failures > 0 as probe`
}

/**
 * The subscription served last in a claim's round (turns go by `id <= after`, then `id`): the next
 * claim's round starts after it.
 */
export function lastInRound(batch: ClaimedEvent[], after: string | null): string | null {
  const key = (id: string) => `${after !== null && id <= after ? 1 : 0}${id}`
  let last: string | null = null
  for (const e of batch) if (last === null || key(e.subscription_id) > key(last)) last = e.subscription_id
  return last
}
