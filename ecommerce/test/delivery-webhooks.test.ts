import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { webhookHeaders } from '@logistics/shared'
import { orderEvents, processedWebhooks } from '../src/db/schema'
import { createHarness, createStubDelivery, type Harness } from './helpers'

let h: Harness
let admin: string
let stub: ReturnType<typeof createStubDelivery>
beforeAll(async () => {
  stub = createStubDelivery()
  h = await createHarness({ deliveryClient: stub.client() })
  admin = await h.adminToken()
})
afterAll(async () => {
  stub.stop()
  await h.close()
})

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

const event = (orderId: string, trackingNumber: string, status: string, date: string, previous: string | null = null) =>
  JSON.stringify({
    type: 'delivery.status_changed',
    timestamp: new Date().toISOString(),
    data: { tracking_number: trackingNumber, foreign_order_id: orderId, status, previous_status: previous, date },
  })

async function send(body: string, options: { id?: string; secret?: string; now?: Date; headers?: Record<string, string> } = {}) {
  const id = options.id ?? `msg_${crypto.randomUUID()}`
  const headers = { 'content-type': 'application/json', ...webhookHeaders(options.secret ?? h.config.WEBHOOK_SECRET, id, body, options.now), ...options.headers }
  return h.request('POST', '/webhooks/delivery', { rawBody: body, headers })
}

const view = async (orderId: string) => (await h.request('GET', `/orders/${orderId}`, { token: admin })).body

describe('POST /webhooks/delivery', () => {
  test('a signed event updates delivery.status; 204 with no body', async () => {
    const o = await dispatched('Hook')
    const r = await send(event(o.orderId, o.trackingNumber, 'IN_ORIGIN', '2030-01-01T10:00:00.000Z', 'READY_FOR_PICK_UP'))
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    const order = await view(o.orderId)
    expect(order.delivery.status).toBe('IN_ORIGIN')
    expect(order.status).toBe('dispatched')
  })

  test('a bad signature, a wrong secret, missing headers and a stale timestamp answer 401 and change nothing', async () => {
    const o = await dispatched('Forged')
    const body = event(o.orderId, o.trackingNumber, 'DELIVERED', '2030-01-01T10:00:00.000Z')
    const tampered = await send(body, { headers: { 'webhook-signature': 'v1,' + Buffer.from('nope').toString('base64') } })
    expect(tampered.status).toBe(401)
    expect(tampered.headers.get('content-type')).toBe('application/problem+json')
    const otherSecret = await send(body, { secret: 'whsec_' + Buffer.from('another secret of sufficient length').toString('base64') })
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
    const body = `{ "data": {"date":"2030-01-01T10:00:00.000Z", "status":"IN_ORIGIN","previous_status":null,"tracking_number":"${o.trackingNumber}","foreign_order_id":"${o.orderId}"},\n "type":"delivery.status_changed","timestamp":"2030-01-01T10:00:00.000Z" }`
    expect((await send(body)).status).toBe(204)
    expect((await view(o.orderId)).delivery.status).toBe('IN_ORIGIN')
  })

  test('a repeated webhook-id changes nothing', async () => {
    const o = await dispatched('Replay')
    const id = 'msg_replay_1'
    expect((await send(event(o.orderId, o.trackingNumber, 'IN_ORIGIN', '2030-01-01T10:00:00.000Z'), { id })).status).toBe(204)
    const after = await view(o.orderId)
    // the same id again, even with a newer (validly signed) body, is acknowledged and ignored
    const replay = await send(event(o.orderId, o.trackingNumber, 'IN_ROUTE_OF_DELIVERY', '2030-01-01T11:00:00.000Z'), { id })
    expect(replay.status).toBe(204)
    expect(await view(o.orderId)).toEqual(after)
    expect(await h.db.select().from(processedWebhooks).where(eq(processedWebhooks.webhookId, id))).toHaveLength(1)
  })

  test('DELIVERED marks the order delivered; a late NOT_DELIVERED and older events never move it back', async () => {
    const o = await dispatched('Deliver')
    await send(event(o.orderId, o.trackingNumber, 'IN_ROUTE_OF_DELIVERY', '2030-01-01T10:02:00.000Z'))
    expect((await send(event(o.orderId, o.trackingNumber, 'DELIVERED', '2030-01-01T10:03:00.000Z'))).status).toBe(204)
    let order = await view(o.orderId)
    expect(order.status).toBe('delivered')
    expect(order.delivery.status).toBe('DELIVERED')
    // an older event arriving late
    expect((await send(event(o.orderId, o.trackingNumber, 'NOT_DELIVERED', '2030-01-01T10:01:00.000Z'))).status).toBe(204)
    // even one claiming a newer date cannot move a DELIVERED delivery
    expect((await send(event(o.orderId, o.trackingNumber, 'NOT_DELIVERED', '2030-01-01T10:09:00.000Z'))).status).toBe(204)
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
    await send(event(o.orderId, o.trackingNumber, 'IN_ROUTE_OF_DELIVERY', '2030-01-01T10:02:00.000Z'))
    await send(event(o.orderId, o.trackingNumber, 'IN_ORIGIN', '2030-01-01T10:01:00.000Z'))
    expect((await view(o.orderId)).delivery.status).toBe('IN_ROUTE_OF_DELIVERY')
    await send(event(o.orderId, o.trackingNumber, 'NOT_DELIVERED', '2030-01-01T10:03:00.000Z'))
    expect((await view(o.orderId)).delivery.status).toBe('NOT_DELIVERED')
    expect((await view(o.orderId)).status).toBe('dispatched')
  })

  test('an event for an unknown order is acknowledged (204) and changes nothing', async () => {
    expect((await send(event(crypto.randomUUID(), 'TRK-x', 'IN_ORIGIN', '2030-01-01T10:00:00.000Z'))).status).toBe(204)
    expect((await send(event('not-a-uuid', 'TRK-x', 'IN_ORIGIN', '2030-01-01T10:00:00.000Z'))).status).toBe(204)
  })

  test('an event for another tracking number of the order is ignored', async () => {
    const o = await dispatched('Mismatch')
    await send(event(o.orderId, 'TRK-someone-else', 'DELIVERED', '2030-01-01T10:00:00.000Z'))
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

  test('an event that arrives before the dispatch answer is kept, and DELIVERED then makes the order delivered', async () => {
    const seller = await h.seller('Early', admin)
    const product = await h.product(seller.token, 'Early-1', 5)
    const customer = await h.customer()
    const orderId = (await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }])).body.orders[0].id
    await h.request('POST', `/orders/${orderId}/confirm`, { token: seller.token })
    const early = await send(event(orderId, `TRK-${stub.deliveries.size + 1}`, 'DELIVERED', '2030-01-01T10:00:00.000Z'))
    expect(early.status).toBe(204)
    expect((await view(orderId)).status).toBe('confirmed')
    const r = await h.request('POST', `/orders/${orderId}/dispatch`, { token: seller.token })
    expect(r.status).toBe(200)
    expect(r.body.status).toBe('delivered')
    expect(r.body.delivery.status).toBe('DELIVERED')
  })
})
