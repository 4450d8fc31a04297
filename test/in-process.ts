/**
 * Both services in one process: an ecommerce harness whose delivery client talks to a real delivery
 * app (its `handle`, its own database) through a fetch with injectable faults, and a webhook pump
 * that delivers the delivery service's outbox to ecommerce's receiver.
 */

import { silentLogger, WEBHOOK_EVENT_TYPE, type WebhookEvent, webhookHeaders } from '@logistics/shared'
import { callApp, handleChecked } from '@logistics/testkit/http'
import { assertWebhookDocumented } from '@logistics/testkit/openapi-check'
import { and, asc, eq } from 'drizzle-orm'
import { deliveries, webhookEvents, webhookSubscriptions } from '../delivery/src/db/schema'
import { advanceDeliveries } from '../delivery/src/modules/transitions/tick'
import { KEY_A, setupDelivery } from '../delivery/test/helpers'
import { createApp } from '../ecommerce/src/app'
import { DEV_WEBHOOK_SECRET } from '../ecommerce/src/config'
import { orders } from '../ecommerce/src/db/schema'
import { createDeliveryClient } from '../ecommerce/src/modules/delivery-client/service'
import { cheapHashing, createHarness } from '../ecommerce/test/helpers'

/**
 * What happens to one call to the delivery service:
 * - `down`: the connection is refused (never reaches it);
 * - `error`: it answers 500 without doing anything;
 * - `lost-answer`: it handles the request, but the answer never comes back (the client times out);
 * - `held`: the request hangs before it is handled (the client times out); `release()` lets it land late;
 * - `reset`: it handles the request, then the connection is reset before the answer (a network error).
 */
export type Fault = 'down' | 'error' | 'lost-answer' | 'held' | 'reset'

const CLIENT_TIMEOUT_MS = 300

export async function createSystem(options: { latencyMs?: number } = {}) {
  const latencyMs = options.latencyMs ?? 3
  const delivery = await setupDelivery()
  /** Decides the fault of each call (method, path); undefined = healthy. */
  let plan: (method: string, path: string) => Fault | undefined = () => undefined
  const held: (() => Promise<unknown>)[] = []
  /** Runs before a call reaches the delivery service (to interleave other requests exactly there). */
  let hook: ((method: string, path: string) => Promise<void>) | undefined
  let calls = 0
  /** Gates of abandoned dispatches' create calls (the next create answer waits for the next gate). */
  const gates: { promise: Promise<void>; open: (failed?: boolean) => void }[] = []
  /** Every abandoned dispatch: its gate's opener and its answer (close() lets them all end). */
  const abandoned: { open: (failed?: boolean) => void; answer: Promise<unknown> }[] = []

  const untilAborted = (signal: AbortSignal, maxMs = 5_000) =>
    new Promise<never>((_, reject) => {
      const timer = setTimeout(() => reject(new Error('gave up waiting')), maxMs)
      signal.addEventListener('abort', () => {
        clearTimeout(timer)
        reject(signal.reason ?? new Error('aborted'))
      })
    })

  async function fakeFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = new Request(input as RequestInfo, init)
    const url = new URL(request.url)
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text()
    calls++
    // Every answer of the delivery service is checked against its document, as callApp's are.
    const forward = () =>
      handleChecked(
        delivery.app,
        new Request(`http://delivery.local${url.pathname}${url.search}`, { method: request.method, headers: request.headers, body }),
      )
    const fault = plan(request.method, url.pathname)
    await hook?.(request.method, url.pathname)
    await Bun.sleep(latencyMs) // the network: other requests run meanwhile, as they would over HTTP
    if (fault === 'down') throw new TypeError('fetch failed: connection refused')
    if (fault === 'error')
      return Response.json({ status: 500, title: 'Internal Server Error', detail: 'secret upstream detail' }, { status: 500 })
    if (fault === 'lost-answer') {
      await forward()
      return untilAborted(request.signal)
    }
    if (fault === 'held') {
      held.push(forward)
      return untilAborted(request.signal)
    }
    if (fault === 'reset') {
      await forward()
      throw new TypeError('fetch failed: connection reset by peer')
    }
    const gate = request.method === 'POST' && url.pathname === '/deliveries' ? gates.shift() : undefined
    if (gate) {
      // An abandoned dispatch: the delivery is created, the answer waits for the gate.
      const response = await forward()
      await gate.promise
      return response
    }
    return forward()
  }

  const client = createDeliveryClient({
    baseUrl: 'http://delivery.local',
    apiKey: KEY_A,
    timeoutMs: CLIENT_TIMEOUT_MS,
    retries: 2,
    retryDelayMs: 5,
    fetch: fakeFetch as typeof fetch,
  })
  const shop = await createHarness({ deliveryClient: client })
  /**
   * The same ecommerce app on the same database, whose calls never time out: a dispatch through
   * it whose answer is gated is a dispatch whose process stopped right there (crashed).
   */
  const patientApp = createApp({
    db: shop.db,
    config: shop.config,
    logger: silentLogger,
    passwordHashing: cheapHashing,
    deliveryClient: createDeliveryClient({
      baseUrl: 'http://delivery.local',
      apiKey: KEY_A,
      timeoutMs: 3_600_000,
      retries: 0,
      fetch: fakeFetch as typeof fetch,
    }),
  })
  const admin = await shop.adminToken()
  // ecommerce's webhook subscription on the delivery service (the tick writes the outbox for it).
  const registered = await delivery.call('POST', '/webhooks', {
    body: { url: 'http://shop.local/webhooks/delivery', secret: DEV_WEBHOOK_SECRET },
  })
  if (registered.status !== 201) throw new Error(`webhook registration failed: ${registered.status} ${registered.text}`)

  const sent: { id: string; payload: string; secret: string }[] = []
  const send = async (event: { id: string; payload: string; secret: string }) => {
    await assertWebhookDocumented(delivery.app, WEBHOOK_EVENT_TYPE, event.payload)
    const response = await handleChecked(
      shop.app,
      new Request('http://shop.local/webhooks/delivery', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...webhookHeaders(event.secret, event.id, event.payload) },
        body: event.payload,
      }),
    )
    // 503 order-not-ready (the order's dispatch is in flight): the dispatcher sends it again later.
    if (response.status === 503) return false
    if (response.status !== 204) throw new Error(`webhook answered ${response.status}: ${await response.text()}`)
    return true
  }

  /** The outbox events still pending, in order (only those of `orderId`'s deliveries when given). */
  async function pendingEvents(orderId?: string) {
    const queued = await delivery.db
      .select({
        id: webhookEvents.id,
        deliveryId: webhookEvents.deliveryId,
        payload: webhookEvents.payload,
        secret: webhookSubscriptions.secret,
      })
      .from(webhookEvents)
      .innerJoin(webhookSubscriptions, eq(webhookSubscriptions.id, webhookEvents.subscriptionId))
      .where(eq(webhookEvents.state, 'pending'))
      .orderBy(asc(webhookEvents.seq))
    return orderId ? queued.filter((e) => (JSON.parse(e.payload) as WebhookEvent).data.foreign_order_id === orderId) : queued
  }

  /**
   * Sends every pending outbox event to ecommerce's receiver, in order, as the dispatcher would (an
   * event answered 503 stays pending, with the later ones of its delivery), and answers how many went;
   * `replay` sends that many already delivered events once more (a retry after a lost 2xx);
   * `concurrently` sends every pending event at once (retries of several replicas racing);
   * `orderId` sends only the events of that order's deliveries.
   */
  async function pumpWebhooks(options: { replay?: number; concurrently?: boolean; orderId?: string } = {}): Promise<number> {
    if (options.replay) for (const event of sent.slice(-options.replay)) await send(event)
    const pending = await pendingEvents(options.orderId)
    const markDelivered = (id: string) =>
      delivery.db.update(webhookEvents).set({ state: 'delivered', deliveredAt: new Date() }).where(eq(webhookEvents.id, id))
    if (options.concurrently) {
      const acked = await Promise.all(pending.map((event) => send(event)))
      const done = pending.filter((_, i) => acked[i])
      for (const event of done) await markDelivered(event.id)
      sent.push(...done)
      return done.length
    }
    // Like the dispatcher: a delivery's events go in order, so one left for later holds back the rest.
    const held = new Set<string>()
    let delivered = 0
    for (const event of pending) {
      if (held.has(event.deliveryId) || !(await send(event))) {
        held.add(event.deliveryId)
        continue
      }
      delivered++
      sent.push(event)
      await markDelivered(event.id)
    }
    return delivered
  }

  let tickAt = Date.now()
  /** One status tick of the delivery service (each call is a new, later tick). */
  async function tick() {
    // Each tick a little later than the last (and never ahead of the clock by much: ecommerce refuses
    // event dates more than 5 minutes in its future), with no minimum gap between ticks.
    tickAt = Math.max(tickAt + 1000, Date.now())
    return advanceDeliveries(delivery.db, { now: new Date(tickAt), minGapMs: 0 })
  }

  /** The deliveries the delivery service holds for an order. */
  const deliveriesOf = (orderId: string) =>
    delivery.db
      .select()
      .from(deliveries)
      .where(and(eq(deliveries.foreignOrderId, orderId)))

  const orderRow = async (orderId: string) => (await shop.db.select().from(orders).where(eq(orders.id, orderId)))[0]!

  /** "Time passes": every lease and unsettled window of the order is over (as after `dispatchLeaseMs`). */
  const leasesRunOut = (orderId: string) =>
    shop.db
      .update(orders)
      .set({ dispatchLeaseUntil: null, dispatchInflight: 0, dispatchUnsettledUntil: null, cancelLeaseUntil: null })
      .where(eq(orders.id, orderId))

  /**
   * A dispatch that stops between the delivery's creation and storing its answer, as a process
   * killed there would: its claim (lease) is taken, the delivery service created the delivery, and
   * nothing more happens until `answerLate()` hands it the answer (a call outliving its lease).
   */
  async function abandonDispatch(orderId: string, sellerToken: string) {
    let open!: (failed?: boolean) => void
    const promise = new Promise<void>((resolve, reject) => {
      open = (failed) => (failed ? reject(new Error('the process is gone')) : resolve())
    })
    gates.push({ promise, open })
    const answer = callApp(patientApp, 'POST', `/orders/${orderId}/dispatch`, { headers: { authorization: `Bearer ${sellerToken}` } })
    abandoned.push({ open, answer: answer.catch(() => {}) })
    promise.catch(() => {})
    for (let i = 0; i < 500 && (await deliveriesOf(orderId)).length === 0; i++) await Bun.sleep(5)
    if ((await deliveriesOf(orderId)).length === 0) throw new Error('the abandoned dispatch never created its delivery')
    return {
      /** The answer finally reaches the (slow, not dead) process: what the dispatch answers then. */
      async answerLate() {
        open()
        const r = await answer
        return { status: r.status, body: r.json }
      },
    }
  }

  return {
    delivery,
    shop,
    admin,
    client,
    abandonDispatch,
    setPlan(p: typeof plan) {
      plan = p
    },
    healthy() {
      plan = () => undefined
      hook = undefined
    },
    onCall(h: typeof hook) {
      hook = h
    },
    /** Lets every held request land now (resolves once they were handled). */
    releaseHeld() {
      return Promise.all(held.splice(0).map((land) => land()))
    },
    get calls() {
      return calls
    },
    pumpWebhooks,
    pendingEvents,
    /** Sends one event to ecommerce's receiver: true when acknowledged (204), false on 503. */
    sendEvent: send,
    tick,
    deliveriesOf,
    orderRow,
    leasesRunOut,
    async close() {
      for (const a of abandoned) a.open(true)
      await Promise.all(abandoned.map((a) => a.answer))
      await shop.close()
      await delivery.close()
    },
  }
}

export type System = Awaited<ReturnType<typeof createSystem>>
