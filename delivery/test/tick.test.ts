import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { createLogger, DELIVERY_STATUSES, type DeliveryStatus, nextDeliveryStatus, WebhookEventSchema } from '@logistics/shared'
import { testOnPostgres } from '@logistics/testkit/databases'
import { asc, eq, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import * as v from 'valibot'
import { type DeliveryDb, schema } from '../src/db'
import { apiClients, deliveries, tickState, trackingEvents, webhookEvents, webhookSubscriptions } from '../src/db/schema'
import { scheduledTick } from '../src/modules/transitions/cron'
import { advanceDeliveries } from '../src/modules/transitions/tick'
import { type DeliveryTestContext, deliveryBody, seedDeliveries, setupDelivery } from './helpers'

let t: DeliveryTestContext
let clientA: string
beforeAll(async () => {
  t = await setupDelivery()
  const [a] = await t.db.select().from(apiClients).where(eq(apiClients.name, 'a'))
  clientA = a!.id
}, 60_000) // a cold PGlite start takes over bun's 5 s hook default on a busy machine
afterAll(() => t.close())
beforeEach(async () => {
  await t.db.delete(webhookEvents)
  await t.db.delete(webhookSubscriptions)
  await t.db.delete(trackingEvents)
  await t.db.delete(deliveries)
  await t.db.delete(tickState)
})

/** Inserts `n` deliveries of client a in `status` (set-up only). */
const seed = (n: number, status: DeliveryStatus) => seedDeliveries(t.db, clientA, n, status)

const statusCounts = async () => {
  const rows = await t.db.select({ status: deliveries.status, n: sql<number>`count(*)::int` }).from(deliveries).groupBy(deliveries.status)
  return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Partial<Record<DeliveryStatus, number>>
}

describe('the state machine', () => {
  test('follows READY_FOR_PICK_UP → IN_ORIGIN → IN_ROUTE_OF_DELIVERY → NOT_DELIVERED | DELIVERED, NOT_DELIVERED → IN_ROUTE', () => {
    expect(nextDeliveryStatus('READY_FOR_PICK_UP', 0.9)).toBe('IN_ORIGIN')
    expect(nextDeliveryStatus('IN_ORIGIN', 0.1)).toBe('IN_ROUTE_OF_DELIVERY')
    expect(nextDeliveryStatus('IN_ROUTE_OF_DELIVERY', 0.49)).toBe('NOT_DELIVERED')
    expect(nextDeliveryStatus('IN_ROUTE_OF_DELIVERY', 0.5)).toBe('DELIVERED')
    expect(nextDeliveryStatus('NOT_DELIVERED', 0.7)).toBe('IN_ROUTE_OF_DELIVERY')
    expect(nextDeliveryStatus('DELIVERED', 0.3)).toBeNull()
  })
})

describe('the tick', () => {
  test('moves every non-final delivery exactly one step and leaves DELIVERED alone', async () => {
    for (const s of DELIVERY_STATUSES) await seed(3, s)
    const result = await advanceDeliveries(t.db, { now: new Date('2030-01-01T00:00:00Z') })
    expect(result).toMatchObject({ ran: true, moved: 12 })
    const counts = await statusCounts()
    // READY(3)→IN_ORIGIN; IN_ORIGIN(3)→IN_ROUTE; NOT_DELIVERED(3)→IN_ROUTE; IN_ROUTE(3)→NOT_DELIVERED|DELIVERED
    expect(counts.READY_FOR_PICK_UP ?? 0).toBe(0)
    expect(counts.IN_ORIGIN).toBe(3)
    expect(counts.IN_ROUTE_OF_DELIVERY).toBe(6)
    expect((counts.NOT_DELIVERED ?? 0) + (counts.DELIVERED ?? 0)).toBe(6) // 3 delivered before + 3 drawn
    expect(counts.DELIVERED ?? 0).toBeGreaterThanOrEqual(3)
  })

  test('appends one tracking event per moved delivery with its previous status and the tick time', async () => {
    const created = await t.call('POST', '/deliveries', { body: deliveryBody() })
    const now = new Date('2030-01-02T00:00:00Z')
    await advanceDeliveries(t.db, { now })
    const [row] = await t.db.select().from(deliveries).where(eq(deliveries.trackingNumber, created.json.tracking_number))
    const events = await t.db.select().from(trackingEvents).where(eq(trackingEvents.deliveryId, row!.id)).orderBy(asc(trackingEvents.id))
    expect(events.map((e) => [e.previousStatus, e.status])).toEqual([
      [null, 'READY_FOR_PICK_UP'],
      ['READY_FOR_PICK_UP', 'IN_ORIGIN'],
    ])
    expect(events[1]!.createdAt.toISOString()).toBe(now.toISOString())
  })

  test('a late or duplicate tick within the guard does not step twice', async () => {
    await seed(5, 'READY_FOR_PICK_UP')
    const now = new Date('2030-01-03T00:00:00Z')
    expect((await advanceDeliveries(t.db, { now, minGapMs: 15_000 })).ran).toBe(true)
    const dup = await advanceDeliveries(t.db, { now: new Date(now.getTime() + 1_000), minGapMs: 15_000 })
    expect(dup).toMatchObject({ ran: false, reason: 'too-soon' })
    expect((await statusCounts()).IN_ORIGIN).toBe(5)
    const next = await advanceDeliveries(t.db, { now: new Date(now.getTime() + 30_000), minGapMs: 15_000 })
    expect(next).toMatchObject({ ran: true, moved: 5 })
    expect((await statusCounts()).IN_ROUTE_OF_DELIVERY).toBe(5)
  })

  test('the 50/50 split is drawn per delivery (statistically) and a seed reproduces it', async () => {
    await seed(2000, 'IN_ROUTE_OF_DELIVERY')
    await advanceDeliveries(t.db, { now: new Date('2030-01-04T00:00:00Z'), seed: 0.42 })
    const counts = await statusCounts()
    expect((counts.DELIVERED ?? 0) + (counts.NOT_DELIVERED ?? 0)).toBe(2000)
    // Binomial(2000, 0.5): sd ≈ 22; 6 sd either side.
    expect(counts.DELIVERED!).toBeGreaterThan(1000 - 135)
    expect(counts.DELIVERED!).toBeLessThan(1000 + 135)

    // The same seed replays the same sequence of draws, so the same split. Which delivery gets which
    // draw follows the order PostgreSQL visits the rows in, which it does not promise (after the
    // updates, autovacuum or another plan may visit them differently): comparing per delivery
    // failed on a real server about half the time.
    await t.db.update(deliveries).set({ status: 'IN_ROUTE_OF_DELIVERY' })
    await advanceDeliveries(t.db, { now: new Date('2030-01-05T00:00:00Z'), seed: 0.42 })
    expect(await statusCounts()).toEqual(counts)
  })

  test('writes one signed-payload outbox row per subscription of the delivery owner, in the same transaction', async () => {
    await t.call('POST', '/webhooks', { body: { url: 'http://127.0.0.1:9/one' } })
    await t.call('POST', '/webhooks', { body: { url: 'http://127.0.0.1:9/two' } })
    await t.call('POST', '/webhooks', { key: 'test-key-client-b', body: { url: 'http://127.0.0.1:9/other-client' } })
    const created = await t.call('POST', '/deliveries', { body: deliveryBody() })
    const now = new Date('2030-01-06T00:00:00Z')
    const result = await advanceDeliveries(t.db, { now })
    expect(result).toMatchObject({ ran: true, moved: 1, events: 2 })
    // Besides the creation's READY_FOR_PICK_UP events (written with the delivery).
    const rows = (await t.db.select().from(webhookEvents)).filter((r) => !r.payload.includes('"previous_status":null'))
    expect(rows).toHaveLength(2)
    for (const row of rows) {
      const event = v.parse(WebhookEventSchema, JSON.parse(row.payload))
      expect(event.data).toEqual({
        tracking_number: created.json.tracking_number,
        foreign_order_id: created.json.order.foreign_order_id,
        status: 'IN_ORIGIN',
        previous_status: 'READY_FOR_PICK_UP',
        date: now.toISOString(),
      })
      expect(event.type).toBe('delivery.status_changed')
    }
  })

  test('the scheduled tick logs at info only when it moved something; an idle tick only at debug', async () => {
    const lines: { level: string; msg: string; moved?: number }[] = []
    const write = (line: string) => lines.push(JSON.parse(line))
    const logger = (level: 'info' | 'debug') => createLogger('delivery', level, { format: 'json', out: { write }, err: { write } })
    await scheduledTick(t.db, 30, logger('info'))
    expect(lines).toEqual([]) // nothing to move: nothing said
    await t.db.delete(tickState)
    await scheduledTick(t.db, 30, logger('debug'))
    expect(lines).toMatchObject([{ level: 'debug', msg: 'tick', moved: 0 }])
    lines.length = 0
    await seed(2, 'READY_FOR_PICK_UP')
    await t.db.delete(tickState)
    let notified = 0
    await scheduledTick(t.db, 30, logger('info'), () => notified++)
    expect(lines).toMatchObject([{ level: 'info', msg: 'tick', moved: 2 }])
    expect(notified).toBe(0) // no subscriptions: no webhook events to send
  })

  testOnPostgres('ticks racing from several connections on real PostgreSQL step each delivery once', async () => {
    await seed(300, 'READY_FOR_PICK_UP')
    const url = t.database.url!
    const pools = Array.from({ length: 4 }, () => postgres(url, { max: 2, onnotice: () => {} }))
    try {
      const dbs = pools.map((p) => drizzle(p, { schema }) as unknown as DeliveryDb)
      const now = new Date('2030-02-01T00:00:00Z')
      // Eight replicas fire "the same" tick (a few ms apart): exactly one applies it.
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          advanceDeliveries(dbs[i % dbs.length]!, { now: new Date(now.getTime() + i), minGapMs: 15_000 }),
        ),
      )
      expect(results.filter((r) => r.ran)).toHaveLength(1)
      expect((await statusCounts()).IN_ORIGIN).toBe(300)
      const events = await t.db.select({ n: sql<number>`count(*)::int` }).from(trackingEvents)
      expect(events[0]!.n).toBe(300)
    } finally {
      await Promise.all(pools.map((p) => p.end()))
    }
  })
})
