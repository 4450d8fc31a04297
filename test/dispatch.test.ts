/**
 * Dispatch and cancel integrity against a real delivery service (in process, its own database):
 * afterwards an order is either not dispatched and has no live delivery, or dispatched with exactly
 * its one live delivery, checked on the delivery service's own state.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { orders } from '../ecommerce/src/db/schema'
import { settleInterruptedCancels } from '../ecommerce/src/modules/orders/settle'
import { createSystem, type System } from './in-process'

let sys: System
beforeAll(async () => {
  sys = await createSystem()
}, 60_000)
afterAll(() => sys?.close(), 60_000)

const post = (path: string, token: string) => sys.shop.request('POST', path, { token })

/** A seller with a product (stock 10) and a confirmed order of 2 units by a customer. */
async function confirmedOrder(name: string) {
  const seller = await sys.shop.seller(name, sys.admin)
  const product = await sys.shop.product(seller.token, `${name}-SKU`, 10)
  const customer = await sys.shop.customer()
  const r = await sys.shop.buy(customer.token, [{ product_id: product.id, quantity: 2 }])
  if (r.status !== 201) throw new Error(r.text)
  const orderId = r.body.orders[0].id as string
  expect((await post(`/orders/${orderId}/confirm`, seller.token)).status).toBe(200)
  return { seller, product, customer, orderId }
}

/** The invariant, on the delivery service's state: dispatched ⇔ exactly its one live delivery. */
async function expectConsistent(orderId: string) {
  const order = await sys.orderRow(orderId)
  const live = await sys.deliveriesOf(orderId)
  if (order.status === 'dispatched' || order.status === 'delivered') {
    expect(live.map((d) => d.trackingNumber)).toEqual([order.trackingNumber!])
    const tracking = await sys.shop.request('GET', `/orders/${orderId}/tracking`, { token: sys.admin })
    expect(tracking.status).toBe(200)
  } else {
    expect(live).toEqual([])
  }
  return order
}

describe('concurrent dispatches (double click)', () => {
  for (const n of [2, 8]) {
    test(`${n} concurrent dispatches: one delivery, the order dispatched with it, no answer deletes it`, async () => {
      const s = await confirmedOrder(`Double${n}`)
      const answers = await Promise.all(Array.from({ length: n }, () => post(`/orders/${s.orderId}/dispatch`, s.seller.token)))
      // Every answer is the dispatched order with the same delivery, or a 409 naming it dispatched.
      const ok = answers.filter((a) => a.status === 200)
      expect(ok.length).toBeGreaterThanOrEqual(1)
      expect(answers.every((a) => a.status === 200 || (a.status === 409 && a.body.current_status === 'dispatched'))).toBe(true)
      expect(new Set(ok.map((a) => a.body.delivery.tracking_number)).size).toBe(1)
      const order = await expectConsistent(s.orderId)
      expect(order.status).toBe('dispatched')
      expect(order.trackingNumber).toBe(ok[0]!.body.delivery.tracking_number)
      const history = await sys.shop.request('GET', `/orders/${s.orderId}/history`, { token: s.customer.token })
      expect(history.body.data.filter((e: { status: string }) => e.status === 'dispatched')).toHaveLength(1)
    })
  }
})

describe('dispatch racing an admin cancel', () => {
  test('whatever the interleaving, the order ends consistent and the stock is right', async () => {
    for (let round = 0; round < 6; round++) {
      const s = await confirmedOrder(`Race${round}`)
      const [dispatch, cancel] = await Promise.all([
        post(`/orders/${s.orderId}/dispatch`, s.seller.token),
        Bun.sleep(round).then(() => post(`/orders/${s.orderId}/cancel`, sys.admin)),
      ])
      expect([200, 409]).toContain(dispatch.status)
      expect([200, 409]).toContain(cancel.status)
      const order = await expectConsistent(s.orderId)
      expect(await sys.shop.stock(s.product.id)).toBe(order.status === 'cancelled' ? 10 : 8)
      if (cancel.status === 409) expect(['dispatch-in-progress', 'invalid-transition']).toContain(cancel.body.code)
      // A cancel that lost to the dispatch can be repeated: the delivery is withdrawn, then the order cancelled.
      if (order.status === 'dispatched') {
        expect((await post(`/orders/${s.orderId}/cancel`, sys.admin)).status).toBe(200)
        expect((await expectConsistent(s.orderId)).status).toBe('cancelled')
        expect(await sys.shop.stock(s.product.id)).toBe(10)
      }
    }
  })
})

describe('a delivery call that times out after the delivery service created the delivery', () => {
  test('the order stays confirmed; a cancel waits for the call to settle, then withdraws the dangling delivery', async () => {
    const s = await confirmedOrder('LostCancel')
    sys.setPlan((method, path) => (method === 'POST' && path === '/deliveries' ? 'lost-answer' : undefined))
    try {
      const r = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
      expect(r.status).toBe(504)
      expect(r.body.code).toBe('delivery-timeout')
    } finally {
      sys.healthy()
    }
    expect((await sys.orderRow(s.orderId)).status).toBe('confirmed')
    expect(await sys.deliveriesOf(s.orderId)).toHaveLength(1) // it was created all the same
    // Right after the timeout the request might still be in flight: the cancel says so.
    const early = await post(`/orders/${s.orderId}/cancel`, sys.admin)
    expect(early.status).toBe(409)
    expect(early.body.code).toBe('dispatch-in-progress')
    expect(early.headers.get('retry-after')).toMatch(/^\d+$/)
    await sys.leasesRunOut(s.orderId)
    const cancel = await post(`/orders/${s.orderId}/cancel`, sys.admin)
    expect(cancel.status).toBe(200)
    expect(cancel.body.status).toBe('cancelled')
    expect(await sys.deliveriesOf(s.orderId)).toEqual([])
    expect(await sys.shop.stock(s.product.id)).toBe(10)
  })

  test('a retry of the dispatch adopts the delivery the timed-out call created', async () => {
    const s = await confirmedOrder('LostRetry')
    sys.setPlan((method, path) => (method === 'POST' && path === '/deliveries' ? 'lost-answer' : undefined))
    try {
      expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).status).toBe(504)
    } finally {
      sys.healthy()
    }
    const [created] = await sys.deliveriesOf(s.orderId)
    const retry = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    expect(retry.status).toBe(200)
    expect(retry.body.delivery.tracking_number).toBe(created!.trackingNumber)
    await expectConsistent(s.orderId)
  })

  test('a create that lands after the timeout (and after a cancel was refused) is still withdrawn by the cancel', async () => {
    const s = await confirmedOrder('LateLanding')
    sys.setPlan((method, path) => (method === 'POST' && path === '/deliveries' ? 'held' : undefined))
    try {
      expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).status).toBe(504)
    } finally {
      sys.healthy()
    }
    expect(await sys.deliveriesOf(s.orderId)).toEqual([])
    expect((await post(`/orders/${s.orderId}/cancel`, sys.admin)).body.code).toBe('dispatch-in-progress')
    await sys.releaseHeld() // the request reaches the delivery service late
    expect(await sys.deliveriesOf(s.orderId)).toHaveLength(1)
    await sys.leasesRunOut(s.orderId)
    expect((await post(`/orders/${s.orderId}/cancel`, sys.admin)).status).toBe(200)
    expect(await sys.deliveriesOf(s.orderId)).toEqual([])
  })

  test('a dispatch retried while a cancel withdraws the dangling delivery is refused (cancel-in-progress), never shipped without a delivery', async () => {
    const s = await confirmedOrder('RetryDuringCancel')
    sys.setPlan((method, path) => (method === 'POST' && path === '/deliveries' ? 'lost-answer' : undefined))
    try {
      expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).status).toBe(504)
    } finally {
      sys.healthy()
    }
    await sys.leasesRunOut(s.orderId)
    let retry: Awaited<ReturnType<typeof post>> | undefined
    // The seller retries the dispatch just as the admin's cancel is about to DELETE the dangling delivery.
    sys.onCall(async (method) => {
      if (method === 'DELETE' && !retry) retry = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    })
    try {
      expect((await post(`/orders/${s.orderId}/cancel`, sys.admin)).status).toBe(200)
    } finally {
      sys.healthy()
    }
    expect(retry!.status).toBe(409)
    expect(retry!.body.code).toBe('cancel-in-progress')
    expect(retry!.headers.get('retry-after')).toMatch(/^\d+$/)
    expect((await expectConsistent(s.orderId)).status).toBe('cancelled')
  })

  test('delivery service down during dispatch: 503, nothing created; cancel goes through once it settles', async () => {
    const s = await confirmedOrder('DownCancel')
    sys.setPlan(() => 'down')
    try {
      expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).status).toBe(503)
      await sys.leasesRunOut(s.orderId)
      // The cancel needs the delivery service too (an attempt was made): 503, nothing changes.
      const down = await post(`/orders/${s.orderId}/cancel`, sys.admin)
      expect(down.status).toBe(503)
      expect((await sys.orderRow(s.orderId)).status).toBe('confirmed')
    } finally {
      sys.healthy()
    }
    expect((await post(`/orders/${s.orderId}/cancel`, sys.admin)).status).toBe(200)
    await expectConsistent(s.orderId)
  })
})

describe('cancelling a dispatched order', () => {
  test('the customer cancels before pick-up: the delivery is withdrawn; its withdrawn events change nothing', async () => {
    const s = await confirmedOrder('CustCancel')
    const shipped = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    expect(shipped.status).toBe(200)
    const r = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
    expect(r.status).toBe(200)
    expect(r.body.status).toBe('cancelled')
    expect(await sys.deliveriesOf(s.orderId)).toEqual([])
    expect((await sys.delivery.call('GET', `/deliveries/${shipped.body.delivery.tracking_number}`)).status).toBe(404)
    expect(await sys.shop.stock(s.product.id)).toBe(10)
    await sys.tick()
    await sys.pumpWebhooks()
    const after = await sys.orderRow(s.orderId)
    expect(after.status).toBe('cancelled')
    expect(after.trackingNumber).toBeNull()
  })

  test('once picked up (a tick moved it): 409 already-picked-up for customer and admin; delivered orders never cancel', async () => {
    const s = await confirmedOrder('Picked')
    await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    await sys.tick()
    // Even before ecommerce heard of the pick-up, the delivery service refuses the withdrawal.
    for (const token of [s.customer.token, sys.admin]) {
      const r = await post(`/orders/${s.orderId}/cancel`, token)
      expect(r.status).toBe(409)
      expect(r.body.code).toBe('already-picked-up')
      expect(r.body.detail).toMatch(/picked up/)
    }
    await expectConsistent(s.orderId)
    expect(await sys.shop.stock(s.product.id)).toBe(8)
    // Each pass through IN_ROUTE_OF_DELIVERY is a 50/50 draw: 12 ticks left ~3% of runs undelivered, 80 leave 2^-38.
    for (let i = 0; i < 80 && (await sys.orderRow(s.orderId)).status !== 'delivered'; i++) {
      await sys.tick()
      await sys.pumpWebhooks()
    }
    expect((await sys.orderRow(s.orderId)).status).toBe('delivered')
    const delivered = await post(`/orders/${s.orderId}/cancel`, sys.admin)
    expect(delivered.status).toBe(409)
    expect(delivered.body.current_status).toBe('delivered')
  })

  test('a withdrawal whose answer is lost (the delivery service did delete): the cancel notices and completes', async () => {
    const s = await confirmedOrder('LostDelete')
    await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    sys.setPlan((method) => (method === 'DELETE' ? 'lost-answer' : undefined))
    try {
      const r = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
      expect(r.status).toBe(200)
      expect(r.body.status).toBe('cancelled')
    } finally {
      sys.healthy()
    }
    expect((await expectConsistent(s.orderId)).status).toBe('cancelled')
    expect(await sys.shop.stock(s.product.id)).toBe(10)
  })

  test('the delivery service failing the withdrawal: 502 without its detail, nothing changes', async () => {
    const s = await confirmedOrder('WithdrawFails')
    await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    sys.setPlan((method) => (method === 'DELETE' ? 'error' : undefined))
    try {
      const r = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
      expect(r.status).toBe(502)
      expect(r.body.upstream_status).toBe(500)
      expect(r.text).not.toContain('secret upstream detail')
    } finally {
      sys.healthy()
    }
    const order = await expectConsistent(s.orderId)
    expect(order.status).toBe('dispatched')
    expect(await sys.shop.stock(s.product.id)).toBe(8)
  })
})

describe('cancels interrupted after the withdrawal may have happened are settled (settleInterruptedCancels)', () => {
  const settle = (options: { later?: boolean } = {}) =>
    settleInterruptedCancels(sys.shop.db, sys.client, { now: new Date(Date.now() + (options.later ? 3_600_000 : 0)) })

  /** A dispatched order whose cancel answered `status` with its delivery withdrawn or not, per the plan. */
  async function interruptedCancel(name: string, plan: Parameters<System['setPlan']>[0], status: number) {
    const s = await confirmedOrder(name)
    expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).status).toBe(200)
    sys.setPlan(plan)
    try {
      const r = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
      expect(r.status).toBe(status)
    } finally {
      sys.healthy()
    }
    return s
  }

  test('the DELETE landed but no answer came and the re-check failed: 504, then once its window is over the order is cancelled with its stock back', async () => {
    const s = await interruptedCancel(
      'Unsure',
      (method, path) => (method === 'DELETE' ? 'lost-answer' : path === '/tracking' ? 'down' : undefined),
      504,
    )
    expect(await sys.deliveriesOf(s.orderId)).toEqual([]) // withdrawn on the delivery service
    expect((await sys.orderRow(s.orderId)).status).toBe('dispatched')
    // within the window the DELETE counts as possibly still landing: nothing is decided
    expect(await settle()).toEqual({ cancelled: 0, kept: 0, unknown: 0 })
    expect(await settle({ later: true })).toEqual({ cancelled: 1, kept: 0, unknown: 0 })
    expect((await expectConsistent(s.orderId)).status).toBe('cancelled')
    expect(await sys.shop.stock(s.product.id)).toBe(10)
    const history = await sys.shop.request('GET', `/orders/${s.orderId}/history`, { token: s.customer.token })
    expect(history.body.data.map((e: { status: string }) => e.status)).toEqual(['created', 'confirmed', 'dispatched', 'cancelled'])
    // settled once: the next rounds find nothing, and the stock is given back once
    expect(await settle({ later: true })).toEqual({ cancelled: 0, kept: 0, unknown: 0 })
    expect(await sys.shop.stock(s.product.id)).toBe(10)
  })

  test('the DELETE was held past the re-check and landed late: still settled as cancelled', async () => {
    const s = await interruptedCancel('Late', (method) => (method === 'DELETE' ? 'held' : undefined), 504)
    expect(await sys.deliveriesOf(s.orderId)).toHaveLength(1) // the re-check saw it: not withdrawn yet
    await sys.releaseHeld() // ... and then the DELETE lands
    expect(await sys.deliveriesOf(s.orderId)).toEqual([])
    expect(await settle({ later: true })).toEqual({ cancelled: 1, kept: 0, unknown: 0 })
    expect((await expectConsistent(s.orderId)).status).toBe('cancelled')
    expect(await sys.shop.stock(s.product.id)).toBe(10)
  })

  test('the DELETE never reached the delivery service: the order stays dispatched and keeps following its delivery', async () => {
    const s = await interruptedCancel('NeverSent', (method) => (method === 'DELETE' ? 'down' : undefined), 503)
    expect(await settle({ later: true })).toEqual({ cancelled: 0, kept: 1, unknown: 0 })
    const order = await expectConsistent(s.orderId)
    expect([order.status, order.cancelUnsettledUntil, order.cancelLeaseUntil]).toEqual(['dispatched', null, null])
    expect(await sys.shop.stock(s.product.id)).toBe(8)
    await sys.tick()
    await sys.pumpWebhooks()
    expect((await sys.orderRow(s.orderId)).deliveryStatus).toBe('IN_ORIGIN')
  })

  test('the customer cancelling again within the window completes at once; nothing is left to settle', async () => {
    const s = await interruptedCancel(
      'Again',
      (method, path) => (method === 'DELETE' ? 'lost-answer' : path === '/tracking' ? 'down' : undefined),
      504,
    )
    const again = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
    expect(again.status).toBe(200)
    expect(await settle({ later: true })).toEqual({ cancelled: 0, kept: 0, unknown: 0 })
    expect(await sys.shop.stock(s.product.id)).toBe(10)
  })

  test('a process that died between the withdrawal and the cancel transaction (its lease left behind); the delivery service down at first', async () => {
    const s = await confirmedOrder('Crashed')
    const shipped = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    // what the dead process had done: claimed the order, then withdrawn its delivery
    await sys.shop.db
      .update(orders)
      .set({ cancelLeaseUntil: new Date(Date.now() + 20_000) })
      .where(eq(orders.id, s.orderId))
    await sys.client.deleteDelivery(shipped.body.delivery.tracking_number)
    expect(await settle()).toEqual({ cancelled: 0, kept: 0, unknown: 0 }) // its lease still runs
    sys.setPlan((_, path) => (path === '/tracking' ? 'down' : undefined))
    try {
      expect(await settle({ later: true })).toEqual({ cancelled: 0, kept: 0, unknown: 1 })
    } finally {
      sys.healthy()
    }
    expect((await sys.orderRow(s.orderId)).status).toBe('dispatched')
    expect(await settle({ later: true })).toEqual({ cancelled: 1, kept: 0, unknown: 0 })
    expect((await expectConsistent(s.orderId)).status).toBe('cancelled')
    expect(await sys.shop.stock(s.product.id)).toBe(10)
  })
})
