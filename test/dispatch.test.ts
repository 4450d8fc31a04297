/**
 * Dispatch and cancel integrity against a real delivery service (in process, its own database):
 * afterwards an order is either not dispatched and has no live delivery, or dispatched with exactly
 * its one live delivery, checked on the delivery service's own state.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { orders } from '../ecommerce/src/db/schema'
import { settleInterruptedCancels, settleInterruptedDispatches } from '../ecommerce/src/modules/orders/settle'
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

describe('dispatches whose answer was lost are settled (settleInterruptedDispatches, or at once by the delivery’s first event)', () => {
  const settle = (options: { later?: boolean } = {}) =>
    settleInterruptedDispatches(sys.shop.db, sys.client, { now: new Date(Date.now() + (options.later ? 3_600_000 : 0)) })
  const history = async (s: { orderId: string; customer: { token: string } }) =>
    (await sys.shop.request('GET', `/orders/${s.orderId}/history`, { token: s.customer.token })).body.data.map(
      (e: { status: string }) => e.status,
    )
  const trackingOf = async (orderId: string) => (await sys.deliveriesOf(orderId)).map((d) => d.trackingNumber)

  /** A dispatch answered `status` under `plan` (the delivery created or not, per the plan). */
  async function failedDispatch(name: string, plan: Parameters<System['setPlan']>[0], status: number) {
    const s = await confirmedOrder(name)
    sys.setPlan(plan)
    try {
      expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).status).toBe(status)
    } finally {
      sys.healthy()
    }
    return s
  }

  test('the process stopped mid-call (delivery created, answer never stored): its events wait while the lease runs, then the job records the delivery; the customer cancels while READY_FOR_PICK_UP', async () => {
    const s = await confirmedOrder('Crash')
    const call = await sys.abandonDispatch(s.orderId, s.seller.token)
    const [tracking] = await trackingOf(s.orderId)
    expect(await sys.orderRow(s.orderId)).toMatchObject({ status: 'confirmed', trackingNumber: null })
    // The delivery's first event: the dispatch is in flight as far as anyone knows (its lease runs): a short retry.
    expect(await sys.pumpWebhooks({ orderId: s.orderId })).toBe(0)
    expect(await settle()).toEqual({ dispatched: 0, confirmed: 0, unknown: 0 })
    expect(await settle({ later: true })).toEqual({ dispatched: 1, confirmed: 0, unknown: 0 })
    expect(await sys.orderRow(s.orderId)).toMatchObject({
      status: 'dispatched',
      trackingNumber: tracking,
      deliveryStatus: 'READY_FOR_PICK_UP',
      dispatchLeaseUntil: null,
    })
    // The settled order links the parcel's public page as one whose dispatch got its answer does.
    expect((await sys.orderRow(s.orderId)).trackingUrl).toEndWith(`/track/${tracking}`)
    await expectConsistent(s.orderId)
    expect(await history(s)).toEqual(['created', 'confirmed', 'dispatched'])
    expect(await sys.pumpWebhooks({ orderId: s.orderId })).toBe(1) // the event applies now (no day of retries)
    expect(await settle({ later: true })).toEqual({ dispatched: 0, confirmed: 0, unknown: 0 })
    const cancel = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
    expect(cancel.status).toBe(200)
    expect(await sys.deliveriesOf(s.orderId)).toEqual([])
    expect(await sys.shop.stock(s.product.id)).toBe(10)
    // Had the process been only slow, its answer now finds the order cancelled: it withdraws nothing more and says so.
    expect((await call.answerLate()).status).toBe(409)
    expect((await expectConsistent(s.orderId)).status).toBe('cancelled')
  })

  test('once the lease of the stopped call is over, the delivery’s first event settles the dispatch at once and applies, the next ones too', async () => {
    const s = await confirmedOrder('CrashEvent')
    await sys.abandonDispatch(s.orderId, s.seller.token)
    const [tracking] = await trackingOf(s.orderId)
    await sys.leasesRunOut(s.orderId)
    expect(await sys.pumpWebhooks({ orderId: s.orderId })).toBe(1)
    expect(await sys.orderRow(s.orderId)).toMatchObject({
      status: 'dispatched',
      trackingNumber: tracking,
      deliveryStatus: 'READY_FOR_PICK_UP',
    })
    await sys.tick()
    expect(await sys.pumpWebhooks({ orderId: s.orderId })).toBe(1)
    expect((await sys.orderRow(s.orderId)).deliveryStatus).toBe('IN_ORIGIN')
    expect(await history(s)).toEqual(['created', 'confirmed', 'dispatched'])
  })

  test('an answer that arrives after the settle answers the same delivery (200), and nothing is recorded twice', async () => {
    const s = await confirmedOrder('LateAnswer')
    const call = await sys.abandonDispatch(s.orderId, s.seller.token)
    expect(await settle({ later: true })).toEqual({ dispatched: 1, confirmed: 0, unknown: 0 })
    const late = await call.answerLate()
    expect(late.status).toBe(200)
    expect(late.body.delivery.tracking_number).toBe((await sys.orderRow(s.orderId)).trackingNumber)
    expect(await history(s)).toEqual(['created', 'confirmed', 'dispatched'])
    expect((await sys.orderRow(s.orderId)).dispatchInflight).toBe(0)
    await expectConsistent(s.orderId)
  })

  test('a create that timed out (504) and landed late: its first event settles the dispatch and applies; the customer cancels once the window is over', async () => {
    const s = await failedDispatch('TimeoutLate', (method, path) => (method === 'POST' && path === '/deliveries' ? 'held' : undefined), 504)
    expect(await sys.deliveriesOf(s.orderId)).toEqual([])
    await sys.releaseHeld() // the request reaches the delivery service after the 504
    const [tracking] = await trackingOf(s.orderId)
    expect(await sys.pumpWebhooks({ orderId: s.orderId })).toBe(1)
    expect(await sys.orderRow(s.orderId)).toMatchObject({
      status: 'dispatched',
      trackingNumber: tracking,
      deliveryStatus: 'READY_FOR_PICK_UP',
    })
    await expectConsistent(s.orderId)
    // Until the timed-out call's window is over a cancel waits: withdrawn first, that call could still create a second delivery.
    const early = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
    expect([early.status, early.body.code]).toEqual([409, 'dispatch-in-progress'])
    await sys.leasesRunOut(s.orderId)
    expect((await post(`/orders/${s.orderId}/cancel`, s.customer.token)).status).toBe(200)
    expect((await expectConsistent(s.orderId)).status).toBe('cancelled')
  })

  test('a create that timed out (504) with no event yet: the job settles it once the window is over', async () => {
    const s = await failedDispatch(
      'TimeoutJob',
      (method, path) => (method === 'POST' && path === '/deliveries' ? 'lost-answer' : undefined),
      504,
    )
    const [tracking] = await trackingOf(s.orderId)
    expect(await settle()).toEqual({ dispatched: 0, confirmed: 0, unknown: 0 }) // the call may still land: not yet
    expect(await settle({ later: true })).toEqual({ dispatched: 1, confirmed: 0, unknown: 0 })
    expect(await sys.orderRow(s.orderId)).toMatchObject({ status: 'dispatched', trackingNumber: tracking })
    expect(await sys.pumpWebhooks({ orderId: s.orderId })).toBe(1)
    await sys.leasesRunOut(s.orderId)
    expect((await post(`/orders/${s.orderId}/cancel`, s.customer.token)).status).toBe(200)
  })

  test('a connection reset after the delivery service created the delivery (every attempt): 503, then settled with that one delivery', async () => {
    const s = await failedDispatch('Reset', (method, path) => (method === 'POST' && path === '/deliveries' ? 'reset' : undefined), 503)
    const [tracking] = await trackingOf(s.orderId) // three attempts, one delivery (idempotent on the order id)
    expect(await sys.pumpWebhooks({ orderId: s.orderId })).toBe(1)
    expect(await sys.orderRow(s.orderId)).toMatchObject({ status: 'dispatched', trackingNumber: tracking })
    await sys.leasesRunOut(s.orderId)
    expect((await post(`/orders/${s.orderId}/cancel`, s.customer.token)).status).toBe(200)
    expect((await expectConsistent(s.orderId)).status).toBe('cancelled')
  })

  test('no delivery exists (the create never reached the delivery service): the order stays confirmed, its bookkeeping cleared, and dispatches again', async () => {
    const s = await failedDispatch('NeverReached', () => 'down', 503)
    expect(await settle()).toEqual({ dispatched: 0, confirmed: 0, unknown: 0 })
    expect(await settle({ later: true })).toEqual({ dispatched: 0, confirmed: 1, unknown: 0 })
    expect(await sys.orderRow(s.orderId)).toMatchObject({
      status: 'confirmed',
      dispatchLeaseUntil: null,
      dispatchUnsettledUntil: null,
      dispatchInflight: 0,
    })
    expect(await settle({ later: true })).toEqual({ dispatched: 0, confirmed: 0, unknown: 0 }) // settled once
    const again = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    expect(again.status).toBe(200)
    expect((await expectConsistent(s.orderId)).status).toBe('dispatched')
  })

  test('a process that died after its claim, before the call: settled as confirmed; the delivery service down at first', async () => {
    const s = await confirmedOrder('DiedBeforeCall')
    await sys.shop.db
      .update(orders)
      .set({ dispatchAttemptedAt: new Date(), dispatchInflight: 1, dispatchLeaseUntil: new Date(Date.now() + 20_000) })
      .where(eq(orders.id, s.orderId))
    sys.setPlan((_, path) => (path === '/tracking' ? 'down' : undefined))
    try {
      expect(await settle({ later: true })).toEqual({ dispatched: 0, confirmed: 0, unknown: 1 })
    } finally {
      sys.healthy()
    }
    expect(await settle({ later: true })).toEqual({ dispatched: 0, confirmed: 1, unknown: 0 })
    expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).status).toBe(200)
  })

  test('the delivery already DELIVERED when the job asks: the order ends delivered', async () => {
    const s = await confirmedOrder('DeliveredMeanwhile')
    await sys.abandonDispatch(s.orderId, s.seller.token)
    for (let i = 0; i < 80 && (await sys.deliveriesOf(s.orderId))[0]!.status !== 'DELIVERED'; i++) await sys.tick()
    expect(await settle({ later: true })).toEqual({ dispatched: 1, confirmed: 0, unknown: 0 })
    expect(await sys.orderRow(s.orderId)).toMatchObject({ status: 'delivered', deliveryStatus: 'DELIVERED' })
    expect(await history(s)).toEqual(['created', 'confirmed', 'dispatched', 'delivered'])
    await sys.pumpWebhooks({ orderId: s.orderId }) // its events: all older, ignored
    expect((await sys.orderRow(s.orderId)).status).toBe('delivered')
  })

  test('an order cancelled meanwhile (the admin withdrew the delivery the stopped dispatch left): nothing to settle, its events ignored', async () => {
    const s = await confirmedOrder('CancelledMeanwhile')
    await sys.abandonDispatch(s.orderId, s.seller.token)
    const [first] = await sys.pendingEvents(s.orderId) // on its way when the delivery is withdrawn
    await sys.leasesRunOut(s.orderId)
    expect((await post(`/orders/${s.orderId}/cancel`, sys.admin)).status).toBe(200)
    expect(await sys.deliveriesOf(s.orderId)).toEqual([])
    expect(await settle({ later: true })).toEqual({ dispatched: 0, confirmed: 0, unknown: 0 })
    expect(await sys.sendEvent(first!)).toBe(true) // acknowledged, ignored
    expect((await expectConsistent(s.orderId)).status).toBe('cancelled')
    expect(await sys.shop.stock(s.product.id)).toBe(10)
  })

  test('an event of a delivery the delivery service no longer holds (withdrawn after the stopped dispatch) is acknowledged and ignored', async () => {
    const s = await confirmedOrder('WithdrawnElsewhere')
    await sys.abandonDispatch(s.orderId, s.seller.token)
    const [tracking] = await trackingOf(s.orderId)
    const [first] = await sys.pendingEvents(s.orderId)
    await sys.client.deleteDelivery(tracking!) // e.g. by a cancel that then lost its database
    await sys.leasesRunOut(s.orderId)
    expect(await sys.sendEvent(first!)).toBe(true) // the event, still on its way: acknowledged, ignored
    expect(await sys.orderRow(s.orderId)).toMatchObject({ status: 'confirmed', trackingNumber: null })
    expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).status).toBe(200)
    await expectConsistent(s.orderId)
  })

  test('a confirmed order never dispatched: an event of a delivery made for it elsewhere is acknowledged and ignored; the seller’s dispatch adopts it', async () => {
    const s = await confirmedOrder('NeverDispatched')
    const made = await sys.delivery.call('POST', '/deliveries', {
      body: {
        order: { foreign_order_id: s.orderId, products: [{ sku: 'NeverDispatched-SKU', name: 'Product NeverDispatched-SKU', qty: 2 }] },
        origin: { address: 'NeverDispatched warehouse, 1 Dock St' },
        destination: { name: 'Carla', address: "Carla's home, 9 Main St" },
      },
    })
    expect(made.status).toBe(201)
    expect(await sys.pumpWebhooks({ orderId: s.orderId })).toBe(1)
    expect(await sys.orderRow(s.orderId)).toMatchObject({ status: 'confirmed', trackingNumber: null, deliveryStatus: null })
    const r = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    expect(r.status).toBe(200)
    expect(r.body.delivery.tracking_number).toBe(made.json.tracking_number)
  })

  test('two events of a stopped dispatch racing: both acknowledged, the order dispatched once with the later status', async () => {
    const s = await confirmedOrder('Racing')
    await sys.abandonDispatch(s.orderId, s.seller.token)
    await sys.leasesRunOut(s.orderId)
    await sys.tick()
    expect(await sys.pumpWebhooks({ concurrently: true, orderId: s.orderId })).toBe(2)
    expect(await sys.orderRow(s.orderId)).toMatchObject({ status: 'dispatched', deliveryStatus: 'IN_ORIGIN' })
    expect(await history(s)).toEqual(['created', 'confirmed', 'dispatched'])
    await expectConsistent(s.orderId)
  })
})
