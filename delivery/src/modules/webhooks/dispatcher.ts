import { type Logger, webhookHeaders } from '@logistics/shared'
import { errorFields, outageTracker } from '@logistics/shared/db-errors'
import { sql } from 'drizzle-orm'
import ky from 'ky'
import type { DeliveryDb } from '../../db'
import { type ClaimedEvent, claimDue, lastInRound } from './claim'
import { checkDestination, DEVELOPMENT_DESTINATIONS, type DestinationPolicy, sendErrorCategory } from './destination'
import { ENDPOINT_RULE, type EndpointRule, endpointOutcomes } from './endpoints'
import { type Outcome, writeOutcomes } from './outcomes'
import { giveUpDisabledEvents } from './retention'

export type DispatcherOptions = {
  /** Events sent at once by this replica (across subscriptions): a bound on sockets and memory. */
  concurrency?: number
  /** Events one subscription may have in flight on this replica (and take in one claim). */
  perSubscriptionConcurrency?: number
  /** Events one API client may have in flight on this replica, over all its subscriptions. */
  perClientConcurrency?: number
  /** Per-request timeout. */
  timeoutMs?: number
  /** First retry delay of an event; doubles each attempt (with ±25 % jitter) up to `maxBackoffMs`. */
  baseBackoffMs?: number
  maxBackoffMs?: number
  /** An event not acknowledged within this long after it was written is marked failed. */
  giveUpAfterMs?: number
  /** When a failing endpoint is probed and when it is disabled (endpoints.ts; tests shorten it). */
  endpointRule?: Partial<EndpointRule>
  /** How long a claimed event is leased to this replica before another may take it. */
  leaseMs?: number
  /**
   * Idle poll interval: an event that becomes due (a retry, a new delivery) waits at most this long;
   * 100 ms while events flow (a claim found some within the last `pollMs`).
   */
  pollMs?: number
  random?: () => number
  now?: () => Date
  /** Where webhooks may go, checked again before every send; development rules when omitted. */
  destinations?: DestinationPolicy
  /**
   * A claim slower than this may mean PostgreSQL plans the queue with statistics from another moment
   * (analyzed while it was empty, now holding a burst): the table is analyzed (see `analyzeIntervalMs`).
   * The claim is written to keep its plan on such statistics (claim.ts; measured 5–15 ms a claim on
   * a loaded 2-core machine either way, PGlite's 15–40 ms): this stays as a safety net.
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

const DEFAULTS = {
  // A client's 32 is 1/8 of the pool: it takes eight clients whose endpoints are slow but answer
  // (a dead one soon holds a single probe) to fill a replica's sends.
  concurrency: 256,
  perSubscriptionConcurrency: 32,
  perClientConcurrency: 32,
  timeoutMs: 10_000,
  baseBackoffMs: 2_000,
  maxBackoffMs: 60 * 60_000,
  giveUpAfterMs: 24 * 60 * 60_000,
  leaseMs: 60_000,
  pollMs: 500,
  slowClaimMs: 50,
  analyzeIntervalMs: 5_000,
}

/** Delay before attempt `attempts + 1`: exponential with ±25 % jitter, capped. */
export function backoffMs(attempts: number, base: number, max: number, random: () => number = Math.random) {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempts - 1))
  return Math.round(exp * (0.75 + random() * 0.5))
}

/**
 * The webhook dispatcher: POSTs each outbox event with Standard Webhooks headers, retries with
 * exponential backoff and jitter until a 2xx, gives up after ~24 h (state `failed`), and records
 * every attempt. Sending is shared fairly (claim.ts): each subscription and each client has a cap on
 * its sends in flight, the room is dealt out round robin, and a failing endpoint gets one probe at a
 * time on its own backoff (endpoints.ts), so a slow or dead receiver holds a bounded share and never
 * delays the others. `runOnce()` sends everything due now and waits for it (tests, benchmarks);
 * `start()` keeps a pool of up to `concurrency` sends busy.
 */
export function createDispatcher(db: DeliveryDb, logger: Logger, options: DispatcherOptions = {}) {
  const o = { ...DEFAULTS, ...options }
  const rule: EndpointRule = { ...ENDPOINT_RULE, ...options.endpointRule }
  const random = options.random ?? Math.random
  const now = options.now ?? (() => new Date())
  const destinations = options.destinations ?? DEVELOPMENT_DESTINATIONS
  // Redirects are never followed: a 3xx is a failed attempt.
  const http = ky.create({ timeout: o.timeoutMs, retry: 0, throwHttpErrors: false, redirect: 'manual' })
  let running = false
  let inFlight = 0
  const busySubscriptions = new Map<string, number>()
  const busyClients = new Map<string, number>()
  let lastServed: string | null = null
  /** When a claim last found something: while events flow, the pool polls every 100 ms, not `pollMs`. */
  let sentAt = Number.NEGATIVE_INFINITY
  /** Sends finished since the last claim; the pool claims again once this many freed their slots. */
  let doneSinceClaim = 0
  const claimAfter = Math.max(1, Math.min(16, Math.floor(o.perSubscriptionConcurrency / 2)))
  let wake: (() => void) | null = null
  /** Set by a signal that came while the pool was not waiting (claiming, flushing): it does not wait then. */
  let signalled = false
  const signal = () => {
    signalled = true
    wake?.()
  }
  let loop: Promise<void> | null = null
  const pending = new Set<Promise<void>>()
  const outage = outageTracker(logger, 'webhook dispatcher')
  let analyzedAt = Number.NEGATIVE_INFINITY
  let claims = 0
  let analyzing: Promise<void> = Promise.resolve()

  const bump = (m: Map<string, number>, key: string, by: number) => {
    const n = (m.get(key) ?? 0) + by
    if (n > 0) m.set(key, n)
    else m.delete(key)
  }

  /**
   * `claimDue`, and when it was slow, an ANALYZE of the queue (at most once per `analyzeIntervalMs`).
   * The queue's size swings (empty, then a tick's burst of thousands): autovacuum analyzes it up to
   * a minute late, PGlite never, and the previous claim looked each due event's predecessors up the
   * slow way on a plan made while it was empty (20 000 due events, 100 ms a claim of 32 instead of
   * 0.5 ms). Fresh statistics replace the cached plans. Claimed events count as in flight from here.
   */
  async function claim(room: number): Promise<ClaimedEvent[]> {
    const started = performance.now()
    doneSinceClaim = 0
    const batch = await claimDue(
      db,
      {
        room,
        perSubscription: o.perSubscriptionConcurrency,
        perClient: o.perClientConcurrency,
        busySubscriptions,
        busyClients,
        after: lastServed,
      },
      now(),
      o.leaseMs,
    )
    const ms = performance.now() - started
    if (batch.length > 0) sentAt = Date.now()
    for (const event of batch) {
      inFlight++
      bump(busySubscriptions, event.subscription_id, 1)
      bump(busyClients, event.client_id, 1)
    }
    // The round goes on after the subscription served last: those left out this time come first next time.
    lastServed = lastInRound(batch, lastServed) ?? lastServed
    // The first claim is not judged: it also fills the connection's catalog caches (PGlite: 60 ms under load).
    const judged = claims++ > 0
    if (judged && ms > o.slowClaimMs && performance.now() - analyzedAt >= o.analyzeIntervalMs) {
      analyzedAt = performance.now()
      analyzing = db
        .execute(sql`analyze webhook_events`)
        .then(() => logger.debug('webhook queue analyzed after a slow claim', { claim_ms: Math.round(ms), events: batch.length }))
        .catch((err) => logger.warn('webhook queue analyze failed', { error: errorFields(err) }))
    }
    return batch
  }

  function released(event: ClaimedEvent) {
    inFlight--
    doneSinceClaim++
    bump(busySubscriptions, event.subscription_id, -1)
    bump(busyClients, event.client_id, -1)
    if (doneSinceClaim >= claimAfter || inFlight === 0) signal()
  }

  let outcomes: Outcome[] = []
  let flushing: Promise<void> = Promise.resolve()

  /**
   * Writes the buffered outcomes (outcomes.ts). Until written, an event stays leased; after a crash
   * it is sent again when the lease ends (receivers dedupe on webhook-id). An endpoint the batch
   * disabled has its other pending events given up.
   */
  function flush(): Promise<void> {
    if (outcomes.length === 0) return flushing
    const batch = outcomes
    outcomes = []
    flushing = flushing.then(() =>
      writeOutcomes(db, batch, endpointOutcomes(batch, random), rule)
        .then(async (disabled) => {
          outage.succeeded()
          const count = (state: Outcome['state']) => batch.filter((b) => b.state === state).length
          logger.info('webhooks sent', { delivered: count('delivered'), retrying: count('pending'), failed: count('failed') })
          if (disabled.length === 0) return
          const givenUp = await giveUpDisabledEvents(db, disabled)
          logger.warn('webhook endpoint disabled after its run of failures', { subscriptions: disabled, events_given_up: givenUp })
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

  const sendLogged = (event: ClaimedEvent) =>
    send(event)
      .catch((err) => logger.error('webhook send failed', { error: errorFields(err) }))
      .finally(() => released(event))

  /** Sends every event due now (and those that become due in the process), waiting for all. */
  async function runOnce(): Promise<{ sent: number }> {
    let sent = 0
    for (;;) {
      const batch = await claim(o.concurrency - inFlight)
      if (batch.length === 0) return { sent }
      sent += batch.length
      await Promise.all(batch.map(sendLogged))
      await flush()
    }
  }

  /**
   * The pool: claims whenever a claim may find something (started, woken by a tick, enough sends
   * done, or every `pollMs`), writing the buffered outcomes first so the claim sees every endpoint's
   * latest health; outcomes are also written once the oldest waited 100 ms.
   */
  async function pump() {
    while (running) {
      if (outcomes.length > 0) await flush()
      const room = o.concurrency - inFlight
      if (room > 0) {
        try {
          const batch = await claim(room)
          outage.succeeded()
          for (const event of batch) track(sendLogged(event))
        } catch (err) {
          // A database outage is logged once (and its end once); the pool polls until it is back.
          if (!outage.failed(err)) logger.error('webhook claim failed', { error: errorFields(err) })
        }
      }
      // Then wait: for enough sends to finish (their subscriptions may take more), a tick, or the poll.
      if (signalled) {
        signalled = false
        continue
      }
      await new Promise<void>((resolve) => {
        const busy = outcomes.length > 0 || Date.now() - sentAt < o.pollMs
        const timer = setTimeout(resolve, busy ? Math.min(o.pollMs, 100) : o.pollMs)
        wake = () => {
          clearTimeout(timer)
          wake = null
          resolve()
        }
      })
      signalled = false
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
    notify: signal,
    /** Stops claiming and waits for the sends in flight. */
    async stop() {
      running = false
      signal()
      await loop
      await Promise.allSettled([...pending])
      await flush()
      await analyzing
    },
  }
}
