/**
 * A dispatch whose process is killed (SIGKILL) between the delivery's creation and storing its
 * answer: ecommerce runs as a real process on PostgreSQL, its delivery service (in process, its own
 * database) is served over HTTP and holds the create-delivery answer until the kill. The order is
 * left confirmed without a tracking number and with the dead process's lease; the delivery's events
 * wait (503) only while that lease runs; then the settlement records the order dispatched with that
 * delivery, its events apply, and the customer can cancel while the parcel is READY_FOR_PICK_UP.
 * Needs a server (the process and the test share the database): skipped, named, on PGlite.
 */
import { afterAll, beforeAll, describe, expect } from 'bun:test'
import { onRealPostgres, testOnPostgres } from '@logistics/testkit/databases'
import { KEY_A } from '../delivery/test/helpers'
import { settleInterruptedDispatches } from '../ecommerce/src/modules/orders/settle'
import { startService } from '../scripts/services'
import { createSystem, type System } from './in-process'

describe('a dispatch whose process is killed mid-call', () => {
  let sys: System
  let deliveryServer: ReturnType<typeof Bun.serve>
  /** Resolves when the delivery service has created a delivery whose answer it now holds. */
  let created: PromiseWithResolvers<void>

  if (onRealPostgres) {
    beforeAll(async () => {
      sys = await createSystem()
      created = Promise.withResolvers<void>()
      deliveryServer = Bun.serve({
        port: 0,
        async fetch(request) {
          const url = new URL(request.url)
          const body = request.method === 'GET' ? undefined : await request.text()
          const answer = await sys.delivery.app.handle(
            new Request(`http://delivery.local${url.pathname}${url.search}`, { method: request.method, headers: request.headers, body }),
          )
          if (request.method === 'POST' && url.pathname === '/deliveries') {
            created.resolve()
            return new Promise<Response>(() => {}) // the answer never leaves: the caller dies first
          }
          return answer
        },
      })
    }, 60_000)
    afterAll(async () => {
      deliveryServer?.stop(true)
      await sys?.close()
    }, 60_000)
  }

  testOnPostgres(
    'the order ends dispatched with the delivery the dead process created; its events apply; the customer cancels while READY_FOR_PICK_UP',
    async () => {
      const seller = await sys.shop.seller('Killed', sys.admin)
      const product = await sys.shop.product(seller.token, 'Killed-SKU', 10)
      const customer = await sys.shop.customer()
      const orderId = (await sys.shop.buy(customer.token, [{ product_id: product.id, quantity: 2 }])).body.orders[0].id as string
      expect((await sys.shop.request('POST', `/orders/${orderId}/confirm`, { token: seller.token })).status).toBe(200)

      const ecommerce = await startService('ecommerce', {
        env: {
          DATABASE_URL: sys.shop.database.url!,
          DELIVERY_API_URL: `http://127.0.0.1:${deliveryServer.port}`,
          DELIVERY_API_KEY: KEY_A,
          DELIVERY_TIMEOUT_MS: '10000',
          // The webhook it registers is the one the in-process shop already has (same url and secret).
          PUBLIC_URL: 'http://shop.local',
          LOG_LEVEL: 'warn',
          NODE_ENV: 'test',
        },
      })
      let dispatch: Promise<number | 'no answer'>
      try {
        dispatch = fetch(`${ecommerce.url}/orders/${orderId}/dispatch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${seller.token}` },
        }).then(
          (r) => r.status,
          () => 'no answer' as const,
        )
        await created.promise
      } finally {
        await ecommerce.kill()
      }
      expect(await dispatch).toBe('no answer')

      const [delivery] = await sys.deliveriesOf(orderId)
      expect(delivery).toBeDefined()
      const left = await sys.orderRow(orderId)
      expect(left).toMatchObject({ status: 'confirmed', trackingNumber: null, dispatchInflight: 1 })
      expect(left.dispatchLeaseUntil!.getTime()).toBeGreaterThan(Date.now()) // the dead process's lease
      // While that lease runs the delivery's first event is a short retry, and the job waits.
      expect(await sys.pumpWebhooks({ orderId })).toBe(0)
      const job = (after: number) => settleInterruptedDispatches(sys.shop.db, sys.client, { now: new Date(after) })
      expect(await job(Date.now())).toEqual({ dispatched: 0, confirmed: 0, unknown: 0 })
      expect(await job(left.dispatchLeaseUntil!.getTime() + 1)).toEqual({ dispatched: 1, confirmed: 0, unknown: 0 })

      expect(await sys.orderRow(orderId)).toMatchObject({
        status: 'dispatched',
        trackingNumber: delivery!.trackingNumber,
        deliveryStatus: 'READY_FOR_PICK_UP',
        dispatchLeaseUntil: null,
        dispatchInflight: 0,
      })
      expect(await sys.pumpWebhooks({ orderId })).toBe(1)
      const tracking = await sys.shop.request('GET', `/orders/${orderId}/tracking`, { token: customer.token })
      expect(tracking.body.tracking_number).toBe(delivery!.trackingNumber)
      const cancel = await sys.shop.request('POST', `/orders/${orderId}/cancel`, { token: customer.token })
      expect([cancel.status, cancel.body.status]).toEqual([200, 'cancelled'])
      expect(await sys.deliveriesOf(orderId)).toEqual([])
      expect(await sys.shop.stock(product.id)).toBe(10)
    },
    90_000,
  )
})
