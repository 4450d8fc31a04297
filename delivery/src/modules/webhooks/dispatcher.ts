import { type Logger, webhookHeaders } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { errorFields, outageTracker } from '@logistics/shared/db-errors'
import { sql } from 'drizzle-orm'
import ky from 'ky'
import type { DeliveryDb } from '../../db'
import { checkDestination, DEVELOPMENT_DESTINATIONS, type DestinationPolicy, sendErrorCategory } from './destination'

export type DispatcherOptions = {
  /** Events sent at once (across subscriptions). */
  concurrency?: number
  /** Per-request timeout. */
  timeoutMs?: number
  /** First retry delay; doubles each attempt (with ±25 % jitter) up to `maxBackoffMs`. */
  baseBackoffMs?: number
  maxBackoffMs?: number
  /** An event not acknowledged within this long after it was written is marked failed. */
  giveUpAfterMs?: number
  /** How long a claimed event is leased to this replica before another may take it. */
  leaseMs?: number
  /** Idle poll interval. */
  pollMs?: number
  random?: () => number
  now?: () => Date
  /** Where webhooks may go, checked again before every send; development rules when omitted. */
  destinations?: DestinationPolicy
  /**
   * A claim slower than this means PostgreSQL plans the queue with statistics from another moment
   * (analyzed while it was empty, now holding a burst): the table is analyzed (see `analyzeIntervalMs`).
   */
  slowClaimMs?: number
  /**
   * The least time between two such ANALYZEs by one replica. Short: a burst that lands within this
   * time of the last ANALYZE (taken while the queue was small) keeps the stale plan until then,
   * and with it every claim scans the whole queue (measured: 50 000 due events, ~0.7 s a claim;
   * with a minute here, two replicas delivered 13 events/s for most of that minute).
   */
  analyzeIntervalMs?: number
  /** Called once per attempt with its outcome (metrics). */
  onAttempt?: (outcome: 'delivered' | 'retrying' | 'given-up') => void
}

type ClaimedEvent = {
  id: string
  subscription_id: string
  url: string
  secret: string
  /** The secret replaced by a rotation less than the grace period ago (signed with too), else null. */
  previous_secret: string | null
  payload: string
  attempts: number
  created_at: Date | string
  recovered_at: Date | string | null
}

const DEFAULTS = {
  concurrency: 32,
  timeoutMs: 10_000,
  baseBackoffMs: 2_000,
  maxBackoffMs: 60 * 60_000,
  giveUpAfterMs: 24 * 60 * 60_000,
  leaseMs: 60_000,
  pollMs: 500,
  slowClaimMs: 25,
  analyzeIntervalMs: 5_000,
}

/** Delay before attempt `attempts + 1`: exponential with ±25 % jitter, capped. */
export function backoffMs(attempts: number, base: number, max: number, random: () => number = Math.random) {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempts - 1))
  return Math.round(exp * (0.75 + random() * 0.5))
}

/**
 * Claims due events with `FOR UPDATE SKIP LOCKED` (replicas share the work, none takes the same
 * event), only the oldest pending event of each (subscription, delivery) pair so one delivery's
 * events arrive in order, and leases them by pushing `next_attempt_at` forward. A disabled API
 * client's events are not claimed (held, not dropped).
 */
async function claim(db: DeliveryDb, limit: number, now: Date, leaseMs: number): Promise<ClaimedEvent[]> {
  const nowIso = now.toISOString()
  return queryRows<ClaimedEvent>(
    db,
    sql`
    with due as (
      select e.id from webhook_events e
      where e.state = 'pending' and e.next_attempt_at <= ${nowIso}
        and not exists (
          select 1 from webhook_events p
          where p.subscription_id = e.subscription_id and p.delivery_id = e.delivery_id
            and p.state = 'pending' and p.seq < e.seq
        )
        -- A client left out of DELIVERY_API_KEYS is disabled: its events wait until it is named again.
        and not exists (
          select 1 from webhook_subscriptions ds join api_clients c on c.id = ds.client_id
          where ds.id = e.subscription_id and c.disabled_at is not null
        )
      -- No ORDER BY: sorting the due events cost every claim a pass over all of them (30 ms at
      -- 20 000 due). Each claim takes some due events and leases them, so none waits long, and
      -- one delivery's events still go in order (above).
      -- A literal, not a parameter: with a parameter, the prepared statement's generic plan cannot
      -- see the limit and sorted every pending event (measured: 4 500/s → 375/s).
      limit ${sql.raw(String(Math.max(1, Math.floor(limit))))}
      for update of e skip locked
    )
    update webhook_events w
    set next_attempt_at = ${new Date(now.getTime() + leaseMs).toISOString()}, attempts = w.attempts + 1
    from due, webhook_subscriptions s
    where w.id = due.id and s.id = w.subscription_id
    returning w.id, w.subscription_id, s.url, s.secret,
      case when s.previous_secret_expires_at > ${nowIso} then s.previous_secret end as previous_secret,
      w.payload, w.attempts, w.created_at, w.recovered_at`,
  )
}

/**
 * The webhook dispatcher: POSTs each outbox event with Standard Webhooks headers, retries with
 * exponential backoff and jitter until a 2xx, gives up after ~24 h (state `failed`), and records
 * every attempt. `runOnce()` sends everything due now and waits for it (tests, benchmarks);
 * `start()` keeps a pool of `concurrency` sends busy, so a slow receiver never holds up the others.
 */
export function createDispatcher(db: DeliveryDb, logger: Logger, options: DispatcherOptions = {}) {
  const o = { ...DEFAULTS, ...options }
  const random = options.random ?? Math.random
  const now = options.now ?? (() => new Date())
  const destinations = options.destinations ?? DEVELOPMENT_DESTINATIONS
  // Redirects are never followed: a 3xx is a failed attempt.
  const http = ky.create({ timeout: o.timeoutMs, retry: 0, throwHttpErrors: false, redirect: 'manual' })
  let running = false
  let inFlight = 0
  let wake: (() => void) | null = null
  let loop: Promise<void> | null = null
  const pending = new Set<Promise<void>>()
  const outage = outageTracker(logger, 'webhook dispatcher')
  let analyzedAt = Number.NEGATIVE_INFINITY
  let analyzing: Promise<void> = Promise.resolve()

  /**
   * `claim`, and when it was slow, an ANALYZE of the queue (at most once per `analyzeIntervalMs`).
   * The queue's size swings (empty, then a tick's burst of thousands): autovacuum analyzes it up to
   * a minute late, PGlite never, and a plan made while it was empty looks up each due event's
   * predecessors the slow way (measured: 20 000 due events, 100 ms a claim of 32 instead of 0.5 ms).
   * Fresh statistics replace the cached plans.
   */
  async function claimDue(limit: number): Promise<ClaimedEvent[]> {
    const started = performance.now()
    const batch = await claim(db, limit, now(), o.leaseMs)
    const ms = performance.now() - started
    if (ms > o.slowClaimMs && performance.now() - analyzedAt >= o.analyzeIntervalMs) {
      analyzedAt = performance.now()
      analyzing = db
        .execute(sql`analyze webhook_events`)
        .then(() => logger.debug('webhook queue analyzed after a slow claim', { claim_ms: Math.round(ms), events: batch.length }))
        .catch((err) => logger.warn('webhook queue analyze failed', { error: errorFields(err) }))
    }
    return batch
  }

  type Outcome = {
    id: string
    subscription_id: string
    status_code: number | null
    error: string | null
    duration_ms: number
    at: string
    state: 'pending' | 'delivered' | 'failed'
    next_at: string | null
  }
  let outcomes: Outcome[] = []
  let oldestOutcome = 0
  let flushing: Promise<void> = Promise.resolve()

  /**
   * Writes the buffered outcomes (attempt rows + event states) in one statement: one round trip
   * per batch instead of a transaction per event. Until written, an event stays leased; after a
   * crash it is sent again when the lease ends (receivers dedupe on webhook-id).
   */
  function flush(): Promise<void> {
    if (outcomes.length === 0) return flushing
    const batch = outcomes
    outcomes = []
    flushing = flushing.then(() =>
      db
        .execute(
          sql`
          with r as (
            select * from jsonb_to_recordset(${JSON.stringify(batch)}::jsonb) as x(
              id uuid, subscription_id uuid, status_code int, error text, duration_ms int,
              at timestamptz, state text, next_at timestamptz)
          ), live as (
            -- Only events whose subscription still exists: a webhook deleted while its event was
            -- in flight took the event with it, so there is nothing to record. The key-share
            -- locks keep a concurrent delete from removing them before the attempts are written.
            -- Correlated lookups by primary key: a join here let a plan made on stale statistics
            -- scan the whole table for every batch.
            select r.* from r
            where exists (select 1 from webhook_events ev where ev.id = r.id for key share)
              and exists (select 1 from webhook_subscriptions s where s.id = r.subscription_id for key share)
          ), attempts as (
            insert into webhook_attempts (event_id, subscription_id, status_code, error, duration_ms, attempted_at)
            select id, subscription_id, status_code, error, duration_ms, at from live
          )
          update webhook_events e
          set state = live.state,
              delivered_at = case when live.state = 'delivered' then live.at else e.delivered_at end,
              next_attempt_at = coalesce(live.next_at, e.next_attempt_at),
              last_error = live.error
          from live
          where e.id = any(array(select id from live)) and e.id = live.id`,
        )
        .then(() => {
          outage.succeeded()
          const count = (state: Outcome['state']) => batch.filter((b) => b.state === state).length
          logger.info('webhooks sent', { delivered: count('delivered'), retrying: count('pending'), failed: count('failed') })
        })
        .catch((err) => {
          if (outage.failed(err)) return
          logger.error('webhook outcome write failed; the events will be retried after their lease', {
            error: errorFields(err),
            events: batch.length,
          })
        }),
    )
    return flushing
  }

  async function send(event: ClaimedEvent): Promise<void> {
    const started = performance.now()
    let statusCode: number | null = null
    // The attempt log gets a category; the details (socket messages, resolved addresses) go to
    // the server log only, so the log cannot be used to probe which internal ports are open.
    let error: string | null = null
    let detail: string | null = null
    try {
      // Checked again at every send (DNS can change); the request goes to the checked address.
      const destination = await checkDestination(event.url, destinations)
      if (!destination.ok) {
        error = destination.category
        detail = destination.reason
      } else {
        const response = await http.post(destination.url, {
          body: event.payload,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'logistics-delivery-webhooks/1',
            ...webhookHeaders(event.previous_secret ? [event.secret, event.previous_secret] : event.secret, event.id, event.payload, now()),
            ...destination.headers,
          },
          ...(destination.tls ? { tls: destination.tls } : {}),
        })
        statusCode = response.status
        await response.body?.cancel().catch(() => {})
        if (response.status >= 300 && response.status < 400) error = 'redirect-not-followed'
        else if (!response.ok) error = `HTTP ${response.status}`
      }
    } catch (e) {
      error = sendErrorCategory(e)
      detail = e instanceof Error ? `${e.name}: ${e.message}${'code' in e ? ` (${String(e.code)})` : ''}` : String(e)
    }
    const at = now()
    const ok = error === null
    // The give-up window runs from the event's creation, or from its recovery (POST /webhooks/{id}/recover).
    const giveUp = !ok && at.getTime() - new Date(event.recovered_at ?? event.created_at).getTime() >= o.giveUpAfterMs
    if (outcomes.length === 0) oldestOutcome = Date.now()
    outcomes.push({
      id: event.id,
      subscription_id: event.subscription_id,
      status_code: statusCode,
      error,
      duration_ms: Math.round(performance.now() - started),
      at: at.toISOString(),
      state: ok ? 'delivered' : giveUp ? 'failed' : 'pending',
      next_at:
        ok || giveUp ? null : new Date(at.getTime() + backoffMs(event.attempts, o.baseBackoffMs, o.maxBackoffMs, random)).toISOString(),
    })
    options.onAttempt?.(ok ? 'delivered' : giveUp ? 'given-up' : 'retrying')
    if (ok) return
    if (giveUp) logger.warn('webhook given up', { event_id: event.id, url: event.url, attempts: event.attempts, error, detail })
    else if (error === 'destination-not-allowed')
      logger.warn('webhook destination refused', { event_id: event.id, url: event.url, attempts: event.attempts, detail })
    else logger.debug('webhook retry scheduled', { event_id: event.id, url: event.url, attempts: event.attempts, error, detail })
  }

  function track(p: Promise<void>) {
    pending.add(p)
    p.finally(() => pending.delete(p))
  }

  /** Sends every event due now (and those that become due in the process), waiting for all. */
  async function runOnce(): Promise<{ sent: number }> {
    let sent = 0
    for (;;) {
      const batch = await claimDue(o.concurrency)
      if (batch.length === 0) return { sent }
      sent += batch.length
      await Promise.all(batch.map((e) => send(e).catch((err) => logger.error('webhook send failed', { error: errorFields(err) }))))
      await flush()
    }
  }

  async function pump() {
    while (running) {
      const free = o.concurrency - inFlight
      let claimed = 0
      const canClaim = free >= Math.max(1, o.concurrency / 2)
      // Outcomes are written in batches: before claiming more, or once the oldest waited 100 ms.
      if (canClaim || outcomes.length >= 64 || (outcomes[0] && Date.now() - oldestOutcome >= 100)) await flush()
      if (canClaim) {
        try {
          const batch = await claimDue(free)
          outage.succeeded()
          claimed = batch.length
          for (const event of batch) {
            inFlight++
            const p = send(event)
              .catch((err) => logger.error('webhook send failed', { error: errorFields(err) }))
              .finally(() => {
                inFlight--
                wake?.()
              })
            track(p)
          }
        } catch (err) {
          // A database outage is logged once (and its end once); the pool polls until it is back.
          if (!outage.failed(err)) logger.error('webhook claim failed', { error: errorFields(err) })
        }
      }
      if (claimed === 0 || inFlight > o.concurrency / 2) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, outcomes.length > 0 ? Math.min(o.pollMs, 100) : o.pollMs)
          wake = () => {
            clearTimeout(timer)
            wake = null
            resolve()
          }
        })
      }
    }
  }

  return {
    runOnce,
    /** Starts the background pool. */
    start() {
      if (running) return
      running = true
      loop = pump()
    },
    /** Wakes the pool now (after a tick wrote events). */
    notify() {
      wake?.()
    },
    /** Stops claiming and waits for the sends in flight. */
    async stop() {
      running = false
      wake?.()
      await loop
      await Promise.allSettled([...pending])
      await flush()
      await analyzing
    },
  }
}
