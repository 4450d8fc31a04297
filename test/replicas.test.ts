/**
 * Two delivery replicas on one PostgreSQL database, as real processes with a 1-second tick: every
 * delivery advances one step per tick, every status change reaches the subscription, and a replica
 * SIGKILLed mid-run loses nothing. Needs a server: skipped (with this reason) on PGlite only.
 */
import { afterAll, beforeAll, describe, expect } from 'bun:test'
import { DELIVERY_TRANSITIONS, type DeliveryStatus, silentLogger, type WebhookEvent } from '@logistics/shared'
import { createTestDatabase, onRealPostgres, type TestDatabase, testOnPostgres } from '@logistics/testkit/databases'
import { asc, eq } from 'drizzle-orm'
import ky from 'ky'
import { type DeliveryDb, migrationsFolder, schema } from '../delivery/src/db'
import { deliveries, trackingEvents, webhookEvents } from '../delivery/src/db/schema'
import { createDispatcher } from '../delivery/src/modules/webhooks/dispatcher'
import { type ServiceProcess, startService } from '../scripts/services'

const KEY = 'replica-test-key-0123456789'
describe('two delivery replicas on one database', () => {
  let database: TestDatabase<typeof schema>
  let db: DeliveryDb
  const replicas: ServiceProcess[] = []
  const received: { id: string; event: WebhookEvent }[] = []
  let receiver: ReturnType<typeof Bun.serve>

  // Hooks only where the test runs: in a skipped block bun reports each hook as a skipped "(unnamed)" test.
  if (onRealPostgres) {
    beforeAll(async () => {
      database = await createTestDatabase({ service: 'delivery', schema, migrationsFolder })
      db = database.db as DeliveryDb
      receiver = Bun.serve({
        port: 0,
        async fetch(req) {
          received.push({ id: req.headers.get('webhook-id')!, event: (await req.json()) as WebhookEvent })
          return new Response(null, { status: 204 })
        },
      })
    })
    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.kill()))
      receiver?.stop(true)
      await database?.close()
    })
  }

  testOnPostgres(
    'each delivery steps once per tick, every change is notified, a SIGKILLed replica loses nothing',
    async () => {
      const env = {
        DATABASE_URL: database.url!,
        DELIVERY_API_KEYS: `client:${KEY}`,
        STATUS_TICK_SECONDS: '1',
        WEBHOOK_LEASE_SECONDS: '3',
        WEBHOOK_TIMEOUT_SECONDS: '1',
        LOG_LEVEL: 'warn',
      }
      const [a, b] = await Promise.all([startService('delivery', { env }), startService('delivery', { env })])
      replicas.push(a!, b!)
      const client = (r: ServiceProcess) => ky.create({ prefix: r.url, headers: { authorization: `Bearer ${KEY}` } })
      await client(a!).post('webhooks', { json: { url: `http://127.0.0.1:${receiver.port}/hook` } })
      for (let i = 0; i < 30; i++) {
        await client(i % 2 ? a! : b!).post('deliveries', {
          json: {
            order: { foreign_order_id: `replica-order-${i}`, products: [{ sku: 'S', name: 'N', qty: 1 }] },
            origin: { address: 'Dock 1' },
            destination: { name: 'Ada', address: 'Street 1' },
          },
        })
      }
      await Bun.sleep(3500)
      await a!.kill() // mid-run, possibly with events claimed and unsent
      await Bun.sleep(3500)
      await b!.stop() // graceful: flushes what it sent

      // Whatever is left in the outbox (including what the killed replica had leased) goes out now.
      const dispatcher = createDispatcher(db, silentLogger, { now: () => new Date(Date.now() + 60_000) })
      await dispatcher.runOnce()

      const rows = await db
        .select({
          tn: deliveries.trackingNumber,
          status: trackingEvents.status,
          previous: trackingEvents.previousStatus,
          at: trackingEvents.createdAt,
        })
        .from(trackingEvents)
        .innerJoin(deliveries, eq(deliveries.id, trackingEvents.deliveryId))
        .orderBy(asc(trackingEvents.id))
      const byDelivery = Map.groupBy(rows, (r) => r.tn)
      expect(byDelivery.size).toBe(30)
      let changes = 0
      for (const history of byDelivery.values()) {
        expect(history.length).toBeGreaterThanOrEqual(4) // ~7 ticks went by
        for (let i = 1; i < history.length; i++) {
          const [prev, cur] = [history[i - 1]!, history[i]!]
          expect(cur.previous).toBe(prev.status)
          expect(DELIVERY_TRANSITIONS[prev.status as DeliveryStatus]).toContain(cur.status)
          // Never two steps in one tick, whichever replica ran it (the first event is the creation,
          // which may come any time before the first tick).
          if (i >= 2) expect(cur.at.getTime() - prev.at.getTime()).toBeGreaterThanOrEqual(500)
          changes++
        }
      }
      // Every status, the first one too, reached the subscription under one stable webhook-id; none was lost.
      const ids = new Map(received.map((r) => [r.id, r.event]))
      expect(ids.size).toBe(changes + byDelivery.size)
      const notified = new Set(
        [...ids.values()].map((e) => `${e.data.tracking_number}:${e.data.previous_status}>${e.data.status}@${e.data.date}`),
      )
      for (const [tn, history] of byDelivery) {
        expect(notified.has(`${tn}:null>READY_FOR_PICK_UP@${history[0]!.at.toISOString()}`)).toBe(true)
        for (let i = 1; i < history.length; i++)
          expect(notified.has(`${tn}:${history[i - 1]!.status}>${history[i]!.status}@${history[i]!.at.toISOString()}`)).toBe(true)
      }
      const pending = await db.select().from(webhookEvents).where(eq(webhookEvents.state, 'pending'))
      expect(pending).toHaveLength(0)
    },
    60_000,
  )
})
