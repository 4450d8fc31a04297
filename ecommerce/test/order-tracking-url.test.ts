import { describe, expect, test } from 'bun:test'
import { harnessOnStub } from './helpers'

/**
 * `delivery.tracking_url` of an order: the parcel's public tracking page, as the delivery service
 * answered it at dispatch. Null before; kept while dispatched and delivered; cleared when the order
 * is cancelled (its delivery withdrawn), like the tracking number.
 */

const { h, stub } = await harnessOnStub()
const admin = await h.adminToken()

/** A seller with a product and a customer with one created order of it. */
async function scenario(name: string) {
  const seller = await h.seller(name, admin)
  const product = await h.product(seller.token, `${name}-SKU`, 10)
  const customer = await h.customer()
  const r = await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }])
  if (r.status !== 201) throw new Error(r.text)
  return { seller, customer, purchase: r.body, orderId: r.body.orders[0].id as string }
}

const post = (path: string, token: string) => h.request('POST', path, { token })

describe("an order's delivery.tracking_url", () => {
  test('is null until dispatch, then the delivery service’s tracking_url, in every view of the order', async () => {
    const s = await scenario('UrlShip')
    expect(s.purchase.orders[0].delivery).toMatchObject({ tracking_number: null, tracking_url: null })
    const confirmed = await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    expect(confirmed.body.delivery.tracking_url).toBeNull()
    const shipped = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
    expect(shipped.status).toBe(200)
    const tn = shipped.body.delivery.tracking_number
    const url = `http://delivery.example.test/track/${tn}`
    expect(shipped.body.delivery.tracking_url).toBe(url)
    for (const token of [s.customer.token, s.seller.token, admin])
      expect((await h.request('GET', `/orders/${s.orderId}`, { token })).body.delivery.tracking_url).toBe(url)
    const listed = await h.request('GET', '/orders', { token: s.customer.token })
    expect(listed.body.data.find((o: { id: string }) => o.id === s.orderId).delivery.tracking_url).toBe(url)
    // a repeated dispatch answers the same order
    expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).body.current_status).toBe('dispatched')
    expect((await h.request('GET', `/orders/${s.orderId}`, { token: admin })).body.delivery.tracking_url).toBe(url)
  })

  test('is cleared with the tracking number when the dispatched order is cancelled before pick-up', async () => {
    const s = await scenario('UrlCancel')
    await post(`/orders/${s.orderId}/confirm`, s.seller.token)
    expect((await post(`/orders/${s.orderId}/dispatch`, s.seller.token)).body.delivery.tracking_url).toStartWith('http://')
    const cancelled = await post(`/orders/${s.orderId}/cancel`, s.customer.token)
    expect(cancelled.status).toBe(200)
    expect(cancelled.body.delivery).toMatchObject({ tracking_number: null, tracking_url: null, status: null })
    expect((await h.request('GET', `/orders/${s.orderId}`, { token: admin })).body.delivery.tracking_url).toBeNull()
  })

  test('a delivery service that answers no tracking_url, or one that is no http(s) URL, dispatches all the same, with null', async () => {
    try {
      for (const given of [undefined, 'javascript:alert(1)', 'not a url', 42]) {
        stub.state.trackingUrl = given === undefined ? undefined : () => given
        const s = await scenario(`UrlOdd${String(given).replace(/\W/g, '').slice(0, 8)}`)
        await post(`/orders/${s.orderId}/confirm`, s.seller.token)
        const shipped = await post(`/orders/${s.orderId}/dispatch`, s.seller.token)
        expect({ given, status: shipped.status, url: shipped.body.delivery.tracking_url }).toEqual({ given, status: 200, url: null })
        expect(shipped.body.delivery.tracking_number).toMatch(/^TRK-/)
      }
    } finally {
      stub.state.trackingUrl = (tn) => `http://delivery.example.test/track/${tn}`
    }
  })
})
