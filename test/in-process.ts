/**
 * Both services in one process: an ecommerce harness whose delivery client talks to a real delivery
 * app (its `handle`, its own database) through a fetch with injectable faults, and a webhook pump
 * that delivers the delivery service's outbox to ecommerce's receiver.
 */

import { WEBHOOK_EVENT_TYPE, webhookHeaders } from '@logistics/shared'
import { handleChecked } from '@logistics/testkit/http'
import { assertWebhookDocumented } from '@logistics/testkit/openapi-check'
import { and, asc, eq } from 'drizzle-orm'
import { deliveries, webhookEvents, webhookSubscriptions } from '../delivery/src/db/schema'
import { advanceDeliveries } from '../delivery/src/modules/transitions/tick'
import { KEY_A, setupDelivery } from '../delivery/test/helpers'
import { DEV_WEBHOOK_SECRET } from '../ecommerce/src/config'
import { orders } from '../ecommerce/src/db/schema'
import { createDeliveryClient } from '../ecommerce/src/modules/delivery-client/service'
import { createHarness } from '../ecommerce/test/helpers'

/**
 * What happens to one call to the delivery service:
 * - `down`: the connection is refused (never reaches it);
 * - `error`: it answers 500 without doing anything;
 * - `lost-answer`: it handles the request, but the answer never comes back (the client times out);
 * - `held`: the request hangs before it is handled (the client times out); `release()` lets it land late.
 */
export type Fault = 'down' | 'error' | 'lost-answer' | 'held'

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

  /**
   * Sends every pending outbox event to ecommerce's receiver, in order, as the dispatcher would (an
   * event answered 503 stays pending, with the later ones of its delivery), and answers how many went;
   * `replay` sends that many already delivered events once more (a retry after a lost 2xx).
   */
  async function pumpWebhooks(options: { replay?: number } = {}): Promise<number> {
    if (options.replay) for (const event of sent.slice(-options.replay)) await send(event)
    const pending = await delivery.db
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
      await delivery.db.update(webhookEvents).set({ state: 'delivered', deliveredAt: new Date() }).where(eq(webhookEvents.id, event.id))
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

  return {
    delivery,
    shop,
    admin,
    client,
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
    tick,
    deliveriesOf,
    orderRow,
    leasesRunOut,
    async close() {
      await shop.close()
      await delivery.close()
    },
  }
}

export type System = Awaited<ReturnType<typeof createSystem>>
