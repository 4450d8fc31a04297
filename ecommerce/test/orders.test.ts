import { describe, expect, test } from 'bun:test'
import { asc, eq } from 'drizzle-orm'
import { orderEvents } from '../src/db/schema'
import { createDeliveryClient } from '../src/modules/delivery-client/service'
import { deadDeliveryUrl, harnessOnStub, testOnPostgres } from './helpers'

const { h, stub } = await harnessOnStub()
const admin = await h.adminToken()

/** A seller with a product, a customer, and one created order of 2 units (stock left: 8). */
async function scenario(name: string) {
  const seller = await h.seller(name, admin)
  const product = await h.product(seller.token, `${name}-SKU`, 10)
  const customer = await h.customer()
  const r = await h.buy(customer.token, [{ product_id: product.id, quantity: 2 }])
  if (r.status !== 201) throw new Error(r.text)
  return { seller, product, customer, orderId: r.body.orders[0].id as string }
}

const post = (path: string, token: string, headers?: Record<string, string>) => h.request('POST', path, { token, headers })

describe('visibility', () => {
  test("each role sees its own orders; another customer's or seller's order answers 404", async () => {
    const one = await scenario('VisA')
    const two = await scenario('VisB')
    const mine = await h.request('GET', '/orders', { token: one.customer.token })
    expect(mine.body.data.map((o: any) => o.id)).toEqual([one.orderId])
    expect(mine.body).toMatchObject({ total: 1, limit: 20, offset: 0 })
    const sellerList = await h.request('GET', '/orders', { token: one.seller.token })
    expect(sellerList.body.data.map((o: any) => o.id)).toEqual([one.orderId])
    const all = await h.request('GET', '/orders?limit=100', { token: admin })
    expect(all.body.data.map((o: any) => o.id)).toEqual(expect.arrayContaining([one.orderId, two.orderId]))

    for (const token of [two.customer.token, two.seller.token]) {
      const r = await h.request('GET', `/orders/${one.orderId}`, { token })
      expect(r.status).toBe(404)
      expect(r.text).not.toContain(one.customer.id)
    }
    expect((await h.request('GET', `/orders/${one.orderId}`, { token: one.seller.token })).body.id).toBe(one.orderId)
    expect((await h.request('GET', `/orders/${one.orderId}`, { token: admin })).body.id).toBe(one.orderId)
    expect((await h.request('GET', `/orders/${one.orderId}`)).status).toBe(401)
    expect((await post(`/orders/${one.orderId}/confirm`, two.seller.token)).status).toBe(404)
    expect((await post(`/orders/${one.orderId}/cancel`, two.customer.token)).status).toBe(404)
  })

  test('?status= filters; an unknown status answers 422', async () => {
    const s = await scenario('Filter')
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    expect((await h.request('GET', '/orders?status=confirmed', { token: s.customer.token })).body.total).toBe(1)
    expect((await h.request('GET', '/orders?status=created', { token: s.customer.token })).body.total).toBe(0)
    expect((await h.request('GET', '/orders?status=lost', { token: s.customer.token })).status).toBe(422)
  })
})

describe('transitions', () => {
  test('the seller confirms (created → confirmed); again answers 409 naming the current status', async () => {
    const s = await scenario('Confirm')
    const r = await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    expect(r.status).toBe(200)
    expect(r.body.status).toBe('confirmed')
    const again = await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    expect(again.status).toBe(409)
    expect(again.body).toMatchObject({ code: 'invalid-transition', current_status: 'confirmed' })
    expect(again.body.detail).toContain('confirmed')
    expect((await post(`/orders/${s.orderId}/confirm`, s.customer.token)).status).toBe(403)
    expect((await post(`/orders/${s.orderId}/confirm`, admin)).status).toBe(403)
    const history = await h.request('GET', `/orders/${s.orderId}/history`, { token: s.customer.token })
    expect(history.body.data.map((e: any) => e.status)).toEqual(['created', 'confirmed'])
  })

  test('the customer cancels its created order: stock comes back, history kept', async () => {
    const s = await scenario('CancelC')
    expect(await h.stock(s.product.id)).toBe(8)
    expect((await post(`/orders/${s.orderId}/cancel`, s.seller.token)).status).toBe(403)
    const r = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
    expect(r.status).toBe(200)
    expect(r.body.status).toBe('cancelled')
    expect(await h.stock(s.product.id)).toBe(10)
    const again = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
    expect(again.status).toBe(409)
    expect(again.body.current_status).toBe('cancelled')
    expect(await h.stock(s.product.id)).toBe(10)
    const events = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, s.orderId)).orderBy(asc(orderEvents.id))
    expect(events.map((e) => e.status)).toEqual(['created', 'cancelled'])
    expect((await post(`/orders/${s.orderId}/confirm`, s.seller.token)).status).toBe(409)
  })

  test('a customer cannot cancel a confirmed order (409); the admin can, and the stock comes back', async () => {
    const s = await scenario('CancelA')
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    const r = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
    expect(r.status).toBe(409)
    expect(r.body.current_status).toBe('confirmed')
    expect(await h.stock(s.product.id)).toBe(8)
    const byAdmin = await post(`/orders/${s.orderId}/cancel`, admin)
    expect(byAdmin.status).toBe(200)
    expect(byAdmin.body.status).toBe('cancelled')
    expect(await h.stock(s.product.id)).toBe(10)
  })

  test('the admin cancels a dispatched order before pick-up: the delivery is withdrawn first, the stock comes back', async () => {
    const s = await scenario('CancelD')
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    const shipped = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    expect(shipped.status).toBe(200)
    const tn = shipped.body.delivery.tracking_number
    stub.calls.length = 0
    const r = await post(`/orders/${s.orderId}/cancel`, admin)
    expect(r.status).toBe(200)
    expect(r.body.status).toBe('cancelled')
    expect(r.body.delivery.tracking_number).toBeNull()
    expect(stub.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`DELETE /deliveries/${tn}`])
    expect(stub.deliveries.has(s.orderId)).toBe(false)
    expect(await h.stock(s.product.id)).toBe(10)
  })

  test('a dispatched order whose parcel was picked up: 409 already-picked-up, nothing changes', async () => {
    const s = await scenario('CancelPicked')
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    stub.state.pickedUp = true
    try {
      for (const token of [admin, s.customer.token]) {
        const r = await post(`/orders/${s.orderId}/cancel`, token)
        expect(r.status).toBe(409)
        expect(r.body.code).toBe('already-picked-up')
        expect(r.body.detail).toContain('picked up')
      }
    } finally {
      stub.state.pickedUp = false
    }
    expect((await h.request('GET', `/orders/${s.orderId}`, { token: admin })).body.status).toBe('dispatched')
    expect(stub.deliveries.has(s.orderId)).toBe(true)
    expect(await h.stock(s.product.id)).toBe(8)
  })

  test('cancel of a dispatched order when the delivery service fails: 502/503, nothing changes; a retry cancels', async () => {
    const s = await scenario('CancelDown')
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    stub.state.mode = 'error'
    try {
      const r = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
      expect(r.status).toBe(502)
      expect(r.body.detail).not.toContain('database on fire')
    } finally {
      stub.state.mode = 'up'
    }
    h.useDeliveryClient(createDeliveryClient({ baseUrl: deadDeliveryUrl(), apiKey: 'k', timeoutMs: 300, retryDelayMs: 5 }))
    try {
      expect((await post(`/orders/${s.orderId}/cancel`, s.customer.token)).status).toBe(503)
    } finally {
      h.useDeliveryClient(stub.client())
    }
    expect((await h.request('GET', `/orders/${s.orderId}`, { token: admin })).body.status).toBe('dispatched')
    expect(await h.stock(s.product.id)).toBe(8)
    expect((await post(`/orders/${s.orderId}/cancel`, s.customer.token)).status).toBe(200)
    expect(await h.stock(s.product.id)).toBe(10)
  })

  test('concurrent confirms: exactly one wins', async () => {
    const s = await scenario('Race')
    const results = await Promise.all(Array.from({ length: 8 }, () => post(`/orders/${s.orderId}/confirm`, s.seller.token)))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(results.filter((r) => r.status === 409)).toHaveLength(7)
    const events = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, s.orderId))
    expect(events.filter((e) => e.status === 'confirmed')).toHaveLength(1)
  })

  testOnPostgres('concurrent customer and admin cancels restore the stock once', async () => {
    const s = await scenario('RaceCancel')
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => post(`/orders/${s.orderId}/cancel`, i % 2 ? admin : s.customer.token)),
    )
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(await h.stock(s.product.id)).toBe(10)
  })
})

describe('dispatch', () => {
  test('creates the delivery with the contract body, then marks the order dispatched', async () => {
    const s = await scenario('Ship')
    stub.calls.length = 0
    expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).status).toBe(409) // still created
    expect(stub.calls).toHaveLength(0)
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    const r = await post(`/orders/${s.orderId}/dispatch`, s.seller.token, { 'x-request-id': 'req-ship-1' })
    expect(r.status).toBe(200)
    expect(r.body.status).toBe('dispatched')
    expect(r.body.delivery.tracking_number).toMatch(/^TRK-/)
    expect(r.body.delivery.status).toBe('READY_FOR_PICK_UP')
    expect(stub.calls).toHaveLength(1)
    const call = stub.calls[0]!
    expect(call.method).toBe('POST')
    expect(call.path).toBe('/deliveries')
    expect(call.headers.get('authorization')).toBe('Bearer dev-delivery-key-change-me')
    expect(call.headers.get('x-request-id')).toBe('req-ship-1')
    expect(call.body).toEqual({
      order: { foreign_order_id: s.orderId, products: [{ sku: 'Ship-SKU', name: 'Product Ship-SKU', qty: 2 }] },
      origin: { address: 'Ship warehouse, 1 Dock St' },
      destination: { name: 'Carla', address: "Carla's home, 9 Main St" },
    })
    expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).body.current_status).toBe('dispatched')
    expect((await post(`/orders/${s.orderId}/dispatch`, s.customer.token)).status).toBe(403)
  })

  test('an admin cancel while the delivery is being created: 409 dispatch-in-progress (Retry-After); the dispatch wins whole', async () => {
    const s = await scenario('CancelRace')
    expect((await post(`/orders/${s.orderId}/confirm`, s.seller.token)).status).toBe(200)
    // The admin cancels between the delivery service's answer and the order's update.
    let cancel: Awaited<ReturnType<typeof post>> | undefined
    stub.state.beforeCreateAnswer = async () => {
      cancel = await post(`/orders/${s.orderId}/cancel`, admin)
    }
    try {
      const r = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
      expect(r.status).toBe(200)
      expect(r.body.status).toBe('dispatched')
    } finally {
      stub.state.beforeCreateAnswer = undefined
    }
    expect(cancel!.status).toBe(409)
    expect(cancel!.body.code).toBe('dispatch-in-progress')
    expect(Number(cancel!.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(stub.calls.some((c) => c.method === 'DELETE' && c.path.startsWith('/deliveries/'))).toBe(false)
    expect(stub.deliveries.has(s.orderId)).toBe(true)
    // Once the dispatch is through, the admin's retry withdraws the delivery and cancels.
    expect((await post(`/orders/${s.orderId}/cancel`, admin)).status).toBe(200)
    expect(stub.deliveries.has(s.orderId)).toBe(false)
    expect((await h.request('GET', `/products/${s.product.id}`)).body.quantity).toBe(10)
  })

  test('delivery service down → 503, the order stays confirmed; a retry once it is up dispatches', async () => {
    const s = await scenario('Down')
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    h.useDeliveryClient(createDeliveryClient({ baseUrl: deadDeliveryUrl(), apiKey: 'k', timeoutMs: 300, retryDelayMs: 5 }))
    try {
      const r = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
      expect(r.status).toBe(503)
      expect(r.headers.get('content-type')).toBe('application/problem+json')
      expect(r.body.code).toBe('delivery-unavailable')
    } finally {
      h.useDeliveryClient(stub.client())
    }
    const order = await h.request('GET', `/orders/${s.orderId}`, { token: s.seller.token })
    expect(order.body.status).toBe('confirmed')
    expect(order.body.delivery.tracking_number).toBeNull()
    expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).body.status).toBe('dispatched')
  })

  test('delivery service answering 500 → 502; timing out → 504; 409 → 502; the order stays confirmed', async () => {
    const s = await scenario('Flaky')
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    try {
      stub.state.mode = 'error'
      const e500 = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
      expect(e500.status).toBe(502)
      expect(e500.body.code).toBe('delivery-failed')
      stub.state.mode = 'slow'
      stub.state.slowMs = 800
      const started = performance.now()
      const slow = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
      expect(slow.status).toBe(504)
      expect(slow.body.code).toBe('delivery-timeout')
      expect(performance.now() - started).toBeLessThan(750) // timeouts are not retried
      stub.state.mode = 'conflict'
      const c409 = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
      expect(c409.status).toBe(502)
      expect(c409.body.code).toBe('delivery-conflict')
    } finally {
      stub.state.mode = 'up'
    }
    expect((await h.request('GET', `/orders/${s.orderId}`, { token: admin })).body.status).toBe('confirmed')
    // the same order again: the delivery service answers 200 with the same delivery
    const r = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    expect(r.status).toBe(200)
  })

  test('a retry after the delivery was created but the answer was lost reuses the same delivery', async () => {
    const s = await scenario('Lost')
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    // the delivery exists already (first attempt reached the service)
    await createDeliveryClient({ baseUrl: stub.url, apiKey: 'k' }).createDelivery({
      order: { foreign_order_id: s.orderId, products: [{ sku: 'Lost-SKU', name: 'Product Lost-SKU', qty: 2 }] },
      origin: { address: 'Lost warehouse, 1 Dock St' },
      destination: { name: 'Carla', address: "Carla's home, 9 Main St" },
    })
    const tn = stub.deliveries.get(s.orderId)!.tracking_number
    const r = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    expect(r.status).toBe(200)
    expect(r.body.delivery.tracking_number).toBe(tn)
  })
})

describe('tracking', () => {
  test('409 not-dispatched before dispatch; the delivery history after; 503 when the delivery service is down', async () => {
    const s = await scenario('Track')
    const before = await h.request('GET', `/orders/${s.orderId}/tracking`, { token: s.customer.token })
    expect(before.status).toBe(409)
    expect(before.body.code).toBe('not-dispatched')
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    const shipped = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    for (const token of [s.customer.token, s.seller.token, admin]) {
      const r = await h.request('GET', `/orders/${s.orderId}/tracking`, { token })
      expect(r.status).toBe(200)
      expect(r.body).toMatchObject({
        tracking_number: shipped.body.delivery.tracking_number,
        foreign_order_id: s.orderId,
        status: 'IN_ORIGIN',
      })
      expect(r.body.tracking.map((t: any) => t.status)).toEqual(['READY_FOR_PICK_UP', 'IN_ORIGIN'])
    }
    const stranger = await h.customer()
    expect((await h.request('GET', `/orders/${s.orderId}/tracking`, { token: stranger.token })).status).toBe(404)
    h.useDeliveryClient(createDeliveryClient({ baseUrl: deadDeliveryUrl(), apiKey: 'k', timeoutMs: 300, retryDelayMs: 5 }))
    try {
      expect((await h.request('GET', `/orders/${s.orderId}/tracking`, { token: s.customer.token })).status).toBe(503)
    } finally {
      h.useDeliveryClient(stub.client())
    }
    stub.state.mode = 'error'
    try {
      expect((await h.request('GET', `/orders/${s.orderId}/tracking`, { token: s.customer.token })).status).toBe(502)
    } finally {
      stub.state.mode = 'up'
    }
  })
})
