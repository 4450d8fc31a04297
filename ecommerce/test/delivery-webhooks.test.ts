import { describe, expect, test } from 'bun:test'
import { type DeliveryStatus, WebhookEventSchema, webhookHeaders } from '@logistics/shared'
import { capturingLogger } from '@logistics/testkit/logging'
import { eq } from 'drizzle-orm'
import * as v from 'valibot'
import { orderEvents, orders, processedWebhooks } from '../src/db/schema'
import { applyDeliveryEvent, supersedes } from '../src/modules/delivery-webhooks/service'
import { harnessOnStub } from './helpers'

const { h, stub } = await harnessOnStub()
const admin = await h.adminToken()

/** A dispatched order (tracking number from the stub). */
async function dispatched(name: string) {
  const seller = await h.seller(name, admin)
  const product = await h.product(seller.token, `${name}-1`, 5)
  const customer = await h.customer()
  const bought = await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }])
  const orderId = bought.body.orders[0].id as string
  await h.request('POST', `/orders/${orderId}/confirm`, { token: seller.token })
  const r = await h.request('POST', `/orders/${orderId}/dispatch`, { token: seller.token })
  if (r.status !== 200) throw new Error(r.text)
  return { orderId, trackingNumber: r.body.delivery.tracking_number as string, customer, seller }
}

/** A date `minutes` after a base an hour ago (event dates must not be ahead of the clock). */
const BASE = Date.now() - 60 * 60_000
const at = (minutes: number) => new Date(BASE + minutes * 60_000).toISOString()

const event = (orderId: string, trackingNumber: string, status: string, date: string, previous: string | null = null) =>
  JSON.stringify({
    type: 'delivery.status_changed',
    timestamp: new Date().toISOString(),
    data: { tracking_number: trackingNumber, foreign_order_id: orderId, status, previous_status: previous, date },
  })

async function send(body: string, options: { id?: string; secret?: string; now?: Date; headers?: Record<string, string> } = {}) {
  const id = options.id ?? `msg_${crypto.randomUUID()}`
  const headers = {
    'content-type': 'application/json',
    ...webhookHeaders(options.secret ?? h.config.WEBHOOK_SECRET, id, body, options.now),
    ...options.headers,
  }
  return h.request('POST', '/webhooks/delivery', { rawBody: body, headers })
}

const view = async (orderId: string) => (await h.request('GET', `/orders/${orderId}`, { token: admin })).body

describe('POST /webhooks/delivery', () => {
  test('a signed event updates delivery.status; 204 with no body', async () => {
    const o = await dispatched('Hook')
    const r = await send(event(o.orderId, o.trackingNumber, 'IN_ORIGIN', at(0), 'READY_FOR_PICK_UP'))
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    const order = await view(o.orderId)
    expect(order.delivery.status).toBe('IN_ORIGIN')
    expect(order.status).toBe('dispatched')
  })

  test('a bad signature, a wrong secret, missing headers and a stale timestamp answer 401 and change nothing', async () => {
    const o = await dispatched('Forged')
    const body = event(o.orderId, o.trackingNumber, 'DELIVERED', at(0))
    const tampered = await send(body, { headers: { 'webhook-signature': `v1,${Buffer.from('nope').toString('base64')}` } })
    expect(tampered.status).toBe(401)
    expect(tampered.headers.get('content-type')).toBe('application/problem+json')
    const otherSecret = await send(body, { secret: `whsec_${Buffer.from('another secret of sufficient length').toString('base64')}` })
    expect(otherSecret.status).toBe(401)
    const unsigned = await h.request('POST', '/webhooks/delivery', { rawBody: body, headers: { 'content-type': 'application/json' } })
    expect(unsigned.status).toBe(401)
    const stale = await send(body, { now: new Date(Date.now() - 10 * 60 * 1000) })
    expect(stale.status).toBe(401)
    expect(stale.body.detail).toContain('timestamp')
    // a body changed after signing
    const id = 'msg_changed'
    const headers = { 'content-type': 'application/json', ...webhookHeaders(h.config.WEBHOOK_SECRET, id, body) }
    const changed = await h.request('POST', '/webhooks/delivery', { rawBody: body.replace('DELIVERED', 'NOT_DELIVERED'), headers })
    expect(changed.status).toBe(401)
    const order = await view(o.orderId)
    expect(order.status).toBe('dispatched')
    expect(order.delivery.status).toBe('READY_FOR_PICK_UP')
  })

  test('the signature is checked over the raw bytes (whitespace and key order as sent)', async () => {
    const o = await dispatched('Raw')
    const body = `{ "data": {"date":"${at(0)}", "status":"IN_ORIGIN","previous_status":null,"tracking_number":"${o.trackingNumber}","foreign_order_id":"${o.orderId}"},\n "type":"delivery.status_changed","timestamp":"${at(0)}" }`
    expect((await send(body)).status).toBe(204)
    expect((await view(o.orderId)).delivery.status).toBe('IN_ORIGIN')
  })

  test('a repeated webhook-id changes nothing', async () => {
    const o = await dispatched('Replay')
    const id = 'msg_replay_1'
    expect((await send(event(o.orderId, o.trackingNumber, 'IN_ORIGIN', at(0)), { id })).status).toBe(204)
    const after = await view(o.orderId)
    // the same id again, even with a newer (validly signed) body, is acknowledged and ignored
    const replay = await send(event(o.orderId, o.trackingNumber, 'IN_ROUTE_OF_DELIVERY', at(60)), { id })
    expect(replay.status).toBe(204)
    expect(await view(o.orderId)).toEqual(after)
    expect(await h.db.select().from(processedWebhooks).where(eq(processedWebhooks.webhookId, id))).toHaveLength(1)
  })

  test('DELIVERED marks the order delivered; a late NOT_DELIVERED and older events never move it back', async () => {
    const o = await dispatched('Deliver')
    await send(event(o.orderId, o.trackingNumber, 'IN_ROUTE_OF_DELIVERY', at(2)))
    expect((await send(event(o.orderId, o.trackingNumber, 'DELIVERED', at(3)))).status).toBe(204)
    let order = await view(o.orderId)
    expect(order.status).toBe('delivered')
    expect(order.delivery.status).toBe('DELIVERED')
    // an older event arriving late
    expect((await send(event(o.orderId, o.trackingNumber, 'NOT_DELIVERED', at(1)))).status).toBe(204)
    // even one claiming a newer date cannot move a DELIVERED delivery
    expect((await send(event(o.orderId, o.trackingNumber, 'NOT_DELIVERED', at(9)))).status).toBe(204)
    order = await view(o.orderId)
    expect(order.status).toBe('delivered')
    expect(order.delivery.status).toBe('DELIVERED')
    const events = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, o.orderId))
    expect(events.map((e) => e.status)).toEqual(['created', 'confirmed', 'dispatched', 'delivered'])
    const history = await h.request('GET', `/orders/${o.orderId}/history`, { token: o.customer.token })
    expect(history.body.data.map((e: any) => e.status)).toEqual(['created', 'confirmed', 'dispatched', 'delivered'])
    // the delivered status is visible to the customer
    expect((await h.request('GET', '/orders?status=delivered', { token: o.customer.token })).body.total).toBe(1)
  })

  test('events out of order: an older status never overwrites a newer one', async () => {
    const o = await dispatched('Order')
    await send(event(o.orderId, o.trackingNumber, 'IN_ROUTE_OF_DELIVERY', at(2)))
    await send(event(o.orderId, o.trackingNumber, 'IN_ORIGIN', at(1)))
    expect((await view(o.orderId)).delivery.status).toBe('IN_ROUTE_OF_DELIVERY')
    await send(event(o.orderId, o.trackingNumber, 'NOT_DELIVERED', at(3)))
    expect((await view(o.orderId)).delivery.status).toBe('NOT_DELIVERED')
    expect((await view(o.orderId)).status).toBe('dispatched')
  })

  test('an event for an unknown order is acknowledged (204) and changes nothing', async () => {
    expect((await send(event(crypto.randomUUID(), 'TRK-x', 'IN_ORIGIN', at(0)))).status).toBe(204)
    expect((await send(event('not-a-uuid', 'TRK-x', 'IN_ORIGIN', at(0)))).status).toBe(204)
  })

  test('an event for another tracking number of the order is ignored', async () => {
    const o = await dispatched('Mismatch')
    await send(event(o.orderId, 'TRK-someone-else', 'DELIVERED', at(0)))
    const order = await view(o.orderId)
    expect(order.status).toBe('dispatched')
    expect(order.delivery.status).toBe('READY_FOR_PICK_UP')
  })

  test('a signed body that is not a valid event answers 422; signed non-JSON 400', async () => {
    const bad = await send(JSON.stringify({ type: 'delivery.status_changed', data: { status: 'LOST' } }))
    expect(bad.status).toBe(422)
    expect(bad.body.errors.length).toBeGreaterThan(0)
    expect((await send('not json')).status).toBe(400)
  })

  test('an event that arrives while the dispatch is in flight answers 503 order-not-ready (retryable, nothing recorded); resent after it, it applies', async () => {
    const seller = await h.seller('Early', admin)
    const product = await h.product(seller.token, 'Early-1', 5)
    const customer = await h.customer()
    const orderId = (await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }])).body.orders[0].id
    await h.request('POST', `/orders/${orderId}/confirm`, { token: seller.token })
    const id = `msg_${crypto.randomUUID()}`
    let early: Awaited<ReturnType<typeof send>> | undefined
    let body = ''
    // The delivery service has created the delivery (and sent its first events) before ecommerce got the answer.
    stub.state.beforeCreateAnswer = async () => {
      const tn = stub.deliveries.get(orderId)!.tracking_number
      body = event(orderId, tn, 'READY_FOR_PICK_UP', at(0))
      early = await send(body, { id })
    }
    try {
      const r = await h.request('POST', `/orders/${orderId}/dispatch`, { token: seller.token })
      expect(r.status).toBe(200)
    } finally {
      stub.state.beforeCreateAnswer = undefined
    }
    expect(early!.status).toBe(503)
    expect(early!.headers.get('content-type')).toBe('application/problem+json')
    expect(early!.headers.get('retry-after')).toBe('5')
    expect(early!.body.code).toBe('order-not-ready')
    expect(await h.db.select().from(processedWebhooks).where(eq(processedWebhooks.webhookId, id))).toHaveLength(0)
    // The delivery service retries the same event (same webhook-id): now it applies.
    expect((await send(body, { id })).status).toBe(204)
    const tn = (await view(orderId)).delivery.tracking_number
    expect((await send(event(orderId, tn, 'IN_ORIGIN', at(1), 'READY_FOR_PICK_UP'))).status).toBe(204)
    expect((await view(orderId)).delivery.status).toBe('IN_ORIGIN')
  })

  test('events for an order never dispatched, a cancelled order or an unknown order are acknowledged, logged and ignored', async () => {
    const seller = await h.seller('Never', admin)
    const product = await h.product(seller.token, 'Never-1', 5)
    const customer = await h.customer()
    const created = (await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }])).body.orders[0].id as string
    const { logger, lines } = capturingLogger()
    const apply = (orderId: string, tn: string, status: DeliveryStatus) =>
      applyDeliveryEvent(
        h.db,
        `msg_${crypto.randomUUID()}`,
        v.parse(WebhookEventSchema, JSON.parse(event(orderId, tn, status, at(5)))),
        logger,
        { client: stub.client() },
      )
    // Over HTTP: 204, nothing changes.
    expect((await send(event(created, 'TRK-forged', 'DELIVERED', at(5)))).status).toBe(204)
    expect(await view(created)).toMatchObject({ status: 'created', delivery: { status: null, tracking_number: null } })
    expect(await apply(created, 'TRK-forged', 'DELIVERED')).toBe('not-dispatched')

    const o = await dispatched('Cancelled')
    await h.db.update(orders).set({ status: 'cancelled' }).where(eq(orders.id, o.orderId))
    expect((await send(event(o.orderId, o.trackingNumber, 'IN_ORIGIN', at(5)))).status).toBe(204)
    expect((await view(o.orderId)).delivery.status).toBe('READY_FOR_PICK_UP')
    expect(await apply(o.orderId, o.trackingNumber, 'IN_ORIGIN')).toBe('cancelled')

    expect(await apply(crypto.randomUUID(), 'TRK-x', 'IN_ORIGIN')).toBe('unknown-order')
    const other = await dispatched('Foreign')
    expect(await apply(other.orderId, 'TRK-someone-else', 'DELIVERED')).toBe('foreign-tracking-number')
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      expect.stringContaining('never dispatched'),
      expect.stringContaining('cancelled'),
      expect.stringContaining('unknown order'),
      expect.stringContaining('another tracking number'),
    ])
    expect(lines.find((l) => l.msg.includes('another tracking number'))!).toMatchObject({
      tracking_number: 'TRK-someone-else',
      order_tracking_number: other.trackingNumber,
    })
  })

  test('the first status (READY_FOR_PICK_UP, previous_status null) applies, and never regresses an order further along', async () => {
    const o = await dispatched('First')
    expect((await send(event(o.orderId, o.trackingNumber, 'READY_FOR_PICK_UP', at(0), null))).status).toBe(204)
    expect(await view(o.orderId)).toMatchObject({ status: 'dispatched', delivery: { status: 'READY_FOR_PICK_UP' } })
    const later = await dispatched('FirstLate')
    await send(event(later.orderId, later.trackingNumber, 'IN_ORIGIN', at(1), 'READY_FOR_PICK_UP'))
    expect((await send(event(later.orderId, later.trackingNumber, 'READY_FOR_PICK_UP', at(0), null))).status).toBe(204)
    expect((await view(later.orderId)).delivery.status).toBe('IN_ORIGIN')
  })

  test('a date beyond the clock-skew tolerance is refused (422, not recorded); dates cannot freeze later statuses', async () => {
    const o = await dispatched('Future')
    const id = 'msg_future'
    const far = await send(event(o.orderId, o.trackingNumber, 'IN_ORIGIN', new Date(Date.now() + 24 * 3600_000).toISOString()), { id })
    expect(far.status).toBe(422)
    expect(far.body.code).toBe('event-date-in-future')
    expect(await h.db.select().from(processedWebhooks).where(eq(processedWebhooks.webhookId, id))).toHaveLength(0)
    expect((await view(o.orderId)).delivery.status).toBe('READY_FOR_PICK_UP')
    // A little skew is tolerated, and a later status with an earlier date still applies: the progression decides.
    expect((await send(event(o.orderId, o.trackingNumber, 'IN_ORIGIN', new Date(Date.now() + 60_000).toISOString()))).status).toBe(204)
    expect((await send(event(o.orderId, o.trackingNumber, 'IN_ROUTE_OF_DELIVERY', at(2)))).status).toBe(204)
    expect((await view(o.orderId)).delivery.status).toBe('IN_ROUTE_OF_DELIVERY')
    // A far-future date stored before dates were checked does not freeze the delivery loop either.
    await h.db
      .update(orders)
      .set({ deliveryStatusAt: new Date('2099-01-01T00:00:00Z') })
      .where(eq(orders.id, o.orderId))
    expect((await send(event(o.orderId, o.trackingNumber, 'NOT_DELIVERED', at(3)))).status).toBe(204)
    expect((await view(o.orderId)).delivery.status).toBe('NOT_DELIVERED')
    expect((await send(event(o.orderId, o.trackingNumber, 'IN_ROUTE_OF_DELIVERY', at(4)))).status).toBe(204)
    expect((await send(event(o.orderId, o.trackingNumber, 'NOT_DELIVERED', at(3)))).status).toBe(204) // older: ignored
    expect((await view(o.orderId)).delivery.status).toBe('IN_ROUTE_OF_DELIVERY')
    expect((await send(event(o.orderId, o.trackingNumber, 'DELIVERED', at(1)))).status).toBe(204) // final, whatever its date
    expect(await view(o.orderId)).toMatchObject({ status: 'delivered', delivery: { status: 'DELIVERED' } })
  })
})

describe('supersedes (the ordering rule)', () => {
  const now = new Date('2026-01-01T12:00:00Z')
  const d = (m: number) => new Date(now.getTime() + m * 60_000)
  test('the progression decides; dates only within a stage; DELIVERED is final; untrusted dates are ignored', () => {
    expect(supersedes({ status: null, at: null }, { status: 'IN_ORIGIN', at: d(-5) }, now)).toBe(true)
    expect(supersedes({ status: 'IN_ORIGIN', at: d(4) }, { status: 'IN_ROUTE_OF_DELIVERY', at: d(-5) }, now)).toBe(true)
    expect(supersedes({ status: 'IN_ROUTE_OF_DELIVERY', at: d(-5) }, { status: 'IN_ORIGIN', at: d(0) }, now)).toBe(false)
    expect(supersedes({ status: 'NOT_DELIVERED', at: d(-5) }, { status: 'IN_ROUTE_OF_DELIVERY', at: d(-4) }, now)).toBe(true)
    expect(supersedes({ status: 'NOT_DELIVERED', at: d(-4) }, { status: 'IN_ROUTE_OF_DELIVERY', at: d(-5) }, now)).toBe(false)
    expect(supersedes({ status: 'NOT_DELIVERED', at: d(60 * 24) }, { status: 'IN_ROUTE_OF_DELIVERY', at: d(-5) }, now)).toBe(true)
    expect(supersedes({ status: 'DELIVERED', at: d(-60) }, { status: 'NOT_DELIVERED', at: d(0) }, now)).toBe(false)
    expect(supersedes({ status: 'READY_FOR_PICK_UP', at: null }, { status: 'READY_FOR_PICK_UP', at: d(-1) }, now)).toBe(true)
  })
})
