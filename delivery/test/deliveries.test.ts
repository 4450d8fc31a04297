import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { testOnPostgres } from '@logistics/testkit/databases'
import { and, eq, inArray } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { type DeliveryDb, schema } from '../src/db'
import { deliveries, trackingEvents, webhookEvents } from '../src/db/schema'
import { TRACKING_NUMBER_PATTERN } from '../src/modules/deliveries/tracking-number'
import { advanceDeliveries } from '../src/modules/transitions/tick'
import { type DeliveryTestContext, deliveryBody, KEY_B, setupDelivery } from './helpers'

let t: DeliveryTestContext
beforeAll(async () => {
  t = await setupDelivery()
})
afterAll(() => t.close())

describe('creating a delivery', () => {
  test('answers 201 with a readable tracking number, READY_FOR_PICK_UP and a Location', async () => {
    const body = deliveryBody()
    const res = await t.call('POST', '/deliveries', { body })
    expect(res.status).toBe(201)
    expect(res.json.tracking_number).toMatch(TRACKING_NUMBER_PATTERN)
    expect(res.json.status).toBe('READY_FOR_PICK_UP')
    expect(res.json.order).toEqual(body.order)
    expect(res.json.destination).toEqual(body.destination)
    expect(res.headers.get('location')).toBe(`/deliveries/${res.json.tracking_number}`)
    const history = await t.call('GET', `/deliveries/${res.json.tracking_number}/tracking`)
    expect(history.json.tracking.map((e: { status: string }) => e.status)).toEqual(['READY_FOR_PICK_UP'])
  })

  test('tracking numbers are unique and not sequential', async () => {
    const numbers = new Set<string>()
    for (let i = 0; i < 20; i++) numbers.add((await t.call('POST', '/deliveries', { body: deliveryBody() })).json.tracking_number)
    expect(numbers.size).toBe(20)
    const sorted = [...numbers].sort()
    expect(sorted).not.toEqual([...numbers]) // creation order is not their sort order (with overwhelming probability)
  })

  test('is idempotent on the foreign order id: the same order again answers 200 with the same delivery', async () => {
    const body = deliveryBody()
    const first = await t.call('POST', '/deliveries', { body })
    const again = await t.call('POST', '/deliveries', { body })
    expect(again.status).toBe(200)
    expect(again.json.tracking_number).toBe(first.json.tracking_number)
    const rows = await t.db.select().from(deliveries).where(eq(deliveries.foreignOrderId, body.order.foreign_order_id))
    expect(rows).toHaveLength(1)
  })

  test('the same order with another body answers 409 and changes nothing', async () => {
    const body = deliveryBody()
    const first = await t.call('POST', '/deliveries', { body })
    const other = deliveryBody({ foreign_order_id: body.order.foreign_order_id, qty: 99 })
    const res = await t.call('POST', '/deliveries', { body: other })
    expect(res.status).toBe(409)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(res.json.tracking_number).toBe(first.json.tracking_number)
    const view = await t.call('GET', `/deliveries/${first.json.tracking_number}`)
    expect(view.json.order.products[0].qty).toBe(2)
  })

  test('concurrent creates of one order make exactly one delivery', async () => {
    const body = deliveryBody()
    const results = await Promise.all(Array.from({ length: 8 }, () => t.call('POST', '/deliveries', { body })))
    expect(results.filter((r) => r.status === 201)).toHaveLength(1)
    expect(results.filter((r) => r.status === 200)).toHaveLength(7)
    expect(new Set(results.map((r) => r.json.tracking_number)).size).toBe(1)
  })

  test('accepts the first-draft spelling foreing_order_id and answers with the correct one', async () => {
    const { order, ...rest } = deliveryBody()
    const res = await t.call('POST', '/deliveries', {
      body: { ...rest, order: { foreing_order_id: order.foreign_order_id, products: order.products } },
    })
    expect(res.status).toBe(201)
    expect(res.json.order.foreign_order_id).toBe(order.foreign_order_id)
    expect(res.json.order).not.toHaveProperty('foreing_order_id')
  })

  test('invalid fields answer 422 problem+json listing each field, and write nothing', async () => {
    const before = await t.db.$count(deliveries)
    const res = await t.call('POST', '/deliveries', {
      body: { order: { products: [{ sku: '', name: 'x', qty: 0 }] }, origin: {}, destination: { name: 'n' } },
    })
    expect(res.status).toBe(422)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(res.json).toMatchObject({ status: 422, title: expect.any(String), type: expect.any(String) })
    const paths = res.json.errors.map((e: { path: string }) => e.path)
    expect(paths).toEqual(
      expect.arrayContaining([
        'order.foreign_order_id',
        'order.products.0.sku',
        'order.products.0.qty',
        'origin.address',
        'destination.address',
      ]),
    )
    expect(await t.db.$count(deliveries)).toBe(before)
  })

  test('text of invisible characters only (zero-width space, BOM, no-break space…) answers 422 like a blank one', async () => {
    const body = deliveryBody()
    const res = await t.call('POST', '/deliveries', {
      body: { ...body, origin: { address: '\u200b' }, destination: { name: '\ufeff\u00a0', address: '\u2060\u3000' } },
    })
    expect(res.status).toBe(422)
    expect(res.json.errors).toEqual([
      { path: 'origin.address', message: 'address must not be empty' },
      { path: 'destination.name', message: 'name must not be empty' },
      { path: 'destination.address', message: 'address must not be empty' },
    ])
    expect(
      (await t.call('GET', '/deliveries')).json.data.map((d: { order: { foreign_order_id: string } }) => d.order.foreign_order_id),
    ).not.toContain(body.order.foreign_order_id)
  })

  test('malformed JSON answers 400 problem+json', async () => {
    const res = await t.call('POST', '/deliveries', { raw: '{"order": ' })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })

  test('a body over 1 MB answers 413', async () => {
    const big = 'x'.repeat(1024 * 1024 + 10)
    const res = await t.app.handle(
      new Request('http://localhost/deliveries', {
        method: 'POST',
        headers: { authorization: 'Bearer test-key-client-a', 'content-type': 'application/json', 'content-length': String(big.length) },
        body: big,
      }),
    )
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })
})

describe('authentication and tenancy', () => {
  test('no key or an unknown key answers 401 problem+json', async () => {
    for (const key of [null, 'not-a-key']) {
      const res = await t.call('GET', '/deliveries', { key })
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
    }
  })

  test("client B can neither see nor change client A's delivery", async () => {
    const a = await t.call('POST', '/deliveries', { body: deliveryBody() })
    const tn = a.json.tracking_number
    expect((await t.call('GET', `/deliveries/${tn}`, { key: KEY_B })).status).toBe(404)
    expect((await t.call('GET', `/deliveries/${tn}/tracking`, { key: KEY_B })).status).toBe(404)
    expect((await t.call('POST', '/tracking', { key: KEY_B, body: { tracking_number: tn } })).status).toBe(404)
    expect((await t.call('PATCH', `/deliveries/${tn}`, { key: KEY_B, body: { origin: { address: 'x' } } })).status).toBe(404)
    expect((await t.call('DELETE', `/deliveries/${tn}`, { key: KEY_B })).status).toBe(404)
    const listB = await t.call('GET', '/deliveries?limit=100', { key: KEY_B })
    expect(listB.json.data.map((d: { tracking_number: string }) => d.tracking_number)).not.toContain(tn)
    expect((await t.call('GET', `/deliveries/${tn}`)).status).toBe(200)
  })

  test('the same foreign order id is independent per client', async () => {
    const body = deliveryBody()
    const a = await t.call('POST', '/deliveries', { body })
    const b = await t.call('POST', '/deliveries', { key: KEY_B, body })
    expect(b.status).toBe(201)
    expect(b.json.tracking_number).not.toBe(a.json.tracking_number)
  })
})

describe('listing, viewing, editing, deleting', () => {
  test('lists newest first with limit/offset/total and filters by status', async () => {
    const first = await t.call('GET', '/deliveries?limit=2&offset=0')
    expect(first.status).toBe(200)
    expect(first.json.limit).toBe(2)
    expect(first.json.offset).toBe(0)
    expect(first.json.data).toHaveLength(2)
    const second = await t.call('GET', '/deliveries?limit=2&offset=2')
    expect(second.json.total).toBe(first.json.total)
    expect(second.json.data[0].tracking_number).not.toBe(first.json.data[0].tracking_number)
    const ready = await t.call('GET', '/deliveries?status=READY_FOR_PICK_UP&limit=100')
    expect(ready.json.data.every((d: { status: string }) => d.status === 'READY_FOR_PICK_UP')).toBe(true)
    expect((await t.call('GET', '/deliveries?status=LOST')).status).toBe(422)
    expect((await t.call('GET', '/deliveries?limit=101')).status).toBe(422)
    expect((await t.call('GET', '/deliveries?limit=-1')).status).toBe(422)
  })

  test('edits origin, destination and products', async () => {
    const created = await t.call('POST', '/deliveries', { body: deliveryBody() })
    const tn = created.json.tracking_number
    const res = await t.call('PATCH', `/deliveries/${tn}`, {
      body: { destination: { name: 'Grace Hopper', address: '1 Navy Way' }, products: [{ sku: 'S2', name: 'Lamp', qty: 1 }] },
    })
    expect(res.status).toBe(200)
    expect(res.json.destination).toEqual({ name: 'Grace Hopper', address: '1 Navy Way' })
    expect(res.json.order.products).toEqual([{ sku: 'S2', name: 'Lamp', qty: 1 }])
    expect(res.json.origin).toEqual(created.json.origin)
    expect((await t.call('PATCH', `/deliveries/${tn}`, { body: {} })).status).toBe(422)
    expect((await t.call('PATCH', '/deliveries/TRK-0000-0000-0000', { body: { origin: { address: 'x' } } })).status).toBe(404)
  })

  test('a DELIVERED delivery can no longer be edited (409)', async () => {
    const created = await t.call('POST', '/deliveries', { body: deliveryBody() })
    await t.db.update(deliveries).set({ status: 'DELIVERED' }).where(eq(deliveries.trackingNumber, created.json.tracking_number))
    const res = await t.call('PATCH', `/deliveries/${created.json.tracking_number}`, { body: { origin: { address: 'elsewhere' } } })
    expect(res.status).toBe(409)
    expect(res.json.detail).toContain('DELIVERED')
  })

  test('deletes with 204, then 404; its history goes with it', async () => {
    const created = await t.call('POST', '/deliveries', { body: deliveryBody() })
    const tn = created.json.tracking_number
    const [row] = await t.db.select().from(deliveries).where(eq(deliveries.trackingNumber, tn))
    const del = await t.call('DELETE', `/deliveries/${tn}`)
    expect(del.status).toBe(204)
    expect((await t.call('GET', `/deliveries/${tn}`)).status).toBe(404)
    expect((await t.call('DELETE', `/deliveries/${tn}`)).status).toBe(404)
    expect(await t.db.$count(trackingEvents, eq(trackingEvents.deliveryId, row!.id))).toBe(0)
  })
})

describe('withdrawing (DELETE) only before pick-up', () => {
  test('409 already-picked-up once the parcel moved on; the delivery and its history stay', async () => {
    const created = await t.call('POST', '/deliveries', { body: deliveryBody() })
    const tn = created.json.tracking_number
    await t.db.update(deliveries).set({ status: 'IN_ORIGIN' }).where(eq(deliveries.trackingNumber, tn))
    const res = await t.call('DELETE', `/deliveries/${tn}`)
    expect(res.status).toBe(409)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(res.json).toMatchObject({ code: 'already-picked-up', current_status: 'IN_ORIGIN' })
    expect(res.json.detail).toContain('picked up')
    expect((await t.call('GET', `/deliveries/${tn}`)).json.status).toBe('IN_ORIGIN')
    expect((await t.call('GET', `/deliveries/${tn}/tracking`)).json.tracking).toHaveLength(1)
  })

  test("a withdrawn parcel's webhook events not sent yet are never sent", async () => {
    await t.call('POST', '/webhooks', { body: { url: 'http://shop.test/withdrawn-hook' } })
    const created = await t.call('POST', '/deliveries', { body: deliveryBody() })
    const tn = created.json.tracking_number
    const [row] = await t.db.select().from(deliveries).where(eq(deliveries.trackingNumber, tn))
    // An event waiting in the outbox for this delivery (as the tick or the creation writes them).
    const [sub] = (await t.call('GET', '/webhooks')).json.data
    await t.db.insert(webhookEvents).values({ subscriptionId: sub.id, deliveryId: row!.id, payload: '{}' })
    expect((await t.call('DELETE', `/deliveries/${tn}`)).status).toBe(204)
    const pending = await t.db
      .select()
      .from(webhookEvents)
      .where(and(eq(webhookEvents.deliveryId, row!.id), eq(webhookEvents.state, 'pending')))
    expect(pending).toHaveLength(0)
  })

  testOnPostgres('DELETEs racing the tick: each parcel is either withdrawn or moved, never both', async () => {
    await t.call('POST', '/webhooks', { body: { url: 'http://shop.test/race-hook' } })
    const numbers: string[] = []
    for (let i = 0; i < 60; i++) numbers.push((await t.call('POST', '/deliveries', { body: deliveryBody() })).json.tracking_number)
    const pool = postgres(t.database.url!, { max: 2, onnotice: () => {} })
    try {
      const tickDb = drizzle(pool, { schema }) as unknown as DeliveryDb
      await pool`select 1` // connected before the race starts
      const deletes = numbers.map((tn, i) => Bun.sleep(i % 20).then(() => t.call('DELETE', `/deliveries/${tn}`)))
      const tick = Bun.sleep(4).then(() => advanceDeliveries(tickDb, { now: new Date() }))
      const [answers, result] = await Promise.all([Promise.all(deletes), tick])
      expect(result.ran).toBe(true)
      expect(answers.every((r) => r.status === 204 || r.status === 409)).toBe(true)
      const left = await t.db.select().from(deliveries).where(inArray(deliveries.trackingNumber, numbers))
      const leftByTn = new Map(left.map((d) => [d.trackingNumber, d]))
      answers.forEach((r, i) => {
        const row = leftByTn.get(numbers[i]!)
        if (r.status === 204) expect(row).toBeUndefined()
        else {
          expect(r.json.code).toBe('already-picked-up')
          expect(row?.status).toBe('IN_ORIGIN')
        }
      })
      // A withdrawn parcel was never moved by the tick (its IN_ORIGIN event would be in the outbox).
      const outbox = await t.db.select({ payload: webhookEvents.payload }).from(webhookEvents)
      const movedNumbers = new Set(
        outbox.filter((e) => e.payload.includes('"IN_ORIGIN"')).map((e) => JSON.parse(e.payload).data.tracking_number),
      )
      for (const [i, r] of answers.entries()) expect(r.status === 204 && movedNumbers.has(numbers[i]!)).toBe(false)
      // The tick moved exactly the parcels that were not withdrawn, and wrote history only for them.
      expect(result.moved).toBeGreaterThanOrEqual(left.length)
      const history = await t.db
        .select()
        .from(trackingEvents)
        .where(inArray(trackingEvents.deliveryId, left.map((d) => d.id).concat(['00000000-0000-0000-0000-000000000000'])))
      expect(history.filter((e) => e.status === 'IN_ORIGIN')).toHaveLength(left.length)
    } finally {
      await pool.end()
    }
  })
})

describe('tracking', () => {
  test('history grows one event per tick, oldest first, by tracking number or foreign order id', async () => {
    const body = deliveryBody()
    const created = await t.call('POST', '/deliveries', { body })
    const tn = created.json.tracking_number
    const base = Date.now() + 60_000
    await advanceDeliveries(t.db, { now: new Date(base) })
    await advanceDeliveries(t.db, { now: new Date(base + 30_000) })
    const byNumber = await t.call('GET', `/deliveries/${tn}/tracking`)
    expect(byNumber.status).toBe(200)
    expect(byNumber.json.tracking.map((e: { status: string }) => e.status)).toEqual([
      'READY_FOR_PICK_UP',
      'IN_ORIGIN',
      'IN_ROUTE_OF_DELIVERY',
    ])
    expect(byNumber.json.status).toBe('IN_ROUTE_OF_DELIVERY')
    expect(byNumber.json.tracking[1].date).toBe(new Date(base).toISOString())
    const byOrder = await t.call('POST', '/tracking', { body: { foreign_order_id: body.order.foreign_order_id } })
    expect(byOrder.json).toEqual(byNumber.json)
    const byDraftSpelling = await t.call('POST', '/tracking', { body: { trackig_number: tn } })
    expect(byDraftSpelling.json).toEqual(byNumber.json)
    expect((await t.call('POST', '/tracking', { body: {} })).status).toBe(422)
    expect((await t.call('POST', '/tracking', { body: { tracking_number: tn, foreign_order_id: 'x' } })).status).toBe(422)
    expect((await t.call('POST', '/tracking', { body: { tracking_number: 'TRK-NOPE-NOPE-NOPE' } })).status).toBe(404)
  })
})
