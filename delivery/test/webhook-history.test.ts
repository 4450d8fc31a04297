import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { silentLogger } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { eq, sql } from 'drizzle-orm'
import postgres from 'postgres'
import type { DeliveryDb } from '../src/db'
import { apiClients, webhookAttempts, webhookEvents, webhookSubscriptions } from '../src/db/schema'
import { createDispatcher } from '../src/modules/webhooks/dispatcher'
import { enqueueStatusEvent } from '../src/modules/webhooks/outbox'
import { pruneWebhookHistory, purgeDeletedSubscriptions, purgeSubscription } from '../src/modules/webhooks/retention'
import { clearDeliveries, type DeliveryTestContext, deliveryBody, KEY_B, setupDelivery, testOnPostgres } from './helpers'
import { clock, receiver } from './receivers'

let t: DeliveryTestContext
beforeAll(async () => {
  t = await setupDelivery()
})
afterAll(() => t.close())
beforeEach(async () => {
  await clearDeliveries(t.db)
})
let stops: (() => unknown)[] = []
afterEach(() => {
  for (const s of stops) s()
  stops = []
})

/** `db`, recording how many rows each statement answered (the batch statements return one per row touched). */
function spied(db: DeliveryDb) {
  const rows: number[] = []
  const spy = new Proxy(db, {
    get(target, prop, receiverObject) {
      if (prop !== 'execute') return Reflect.get(target, prop, receiverObject)
      return async (query: Parameters<DeliveryDb['execute']>[0]) => {
        const result = (await target.execute(query)) as unknown
        rows.push(Array.isArray(result) ? result.length : ((result as { rows?: unknown[] }).rows?.length ?? 0))
        return result
      }
    },
  })
  return { db: spy, rows }
}

/** `n` events of subscription `id` (state `state`, `ageDays` old) with `attemptsEach` attempts each, set-based. */
async function history(id: string, n: number, opts: { state?: string; ageDays?: number; attemptsEach?: number } = {}) {
  const created = sql`now() - ${opts.ageDays ?? 0} * interval '1 day'`
  await t.db.execute(sql`
    with e as (
      insert into webhook_events (subscription_id, delivery_id, payload, state, created_at, next_attempt_at)
      select ${id}, gen_random_uuid(), '{}', ${opts.state ?? 'delivered'}, ${created}, ${created} from generate_series(1, ${n})
      returning id, created_at
    )
    insert into webhook_attempts (event_id, subscription_id, status_code, duration_ms, attempted_at)
    select e.id, ${id}, 204, 1, e.created_at from e, generate_series(1, ${opts.attemptsEach ?? 1})`)
}

const counts = async (id: string) => ({
  events: await t.db.$count(webhookEvents, eq(webhookEvents.subscriptionId, id)),
  attempts: await t.db.$count(webhookAttempts, eq(webhookAttempts.subscriptionId, id)),
})

describe('deleting a webhook', () => {
  test('answers 204 and the webhook is gone at once; the purge removes its history in batches, nothing of another', async () => {
    const doomed = (await t.call('POST', '/webhooks', { body: { url: 'https://hooks.example.test/doomed' } })).json
    const kept = (await t.call('POST', '/webhooks', { key: KEY_B, body: { url: 'https://hooks.example.test/kept' } })).json
    await history(doomed.id, 2_000, { attemptsEach: 2 })
    await history(doomed.id, 500, { state: 'pending' })
    await history(kept.id, 300)
    expect((await t.call('DELETE', `/webhooks/${doomed.id}`)).status).toBe(204)
    // Gone from lookups, lists, the attempt log and sending at once; its history is still there.
    expect((await t.call('GET', `/webhooks/${doomed.id}`)).status).toBe(404)
    expect((await t.call('GET', `/webhooks/${doomed.id}/attempts`)).status).toBe(404)
    expect((await t.call('GET', '/webhooks')).json.total).toBe(0)
    expect(await createDispatcher(t.db, silentLogger).runOnce()).toEqual({ sent: 0 })
    expect(await counts(doomed.id)).toEqual({ events: 2_500, attempts: 4_500 })
    // Its url can be registered again at once: a new webhook, with none of the old history.
    const again = await t.call('POST', '/webhooks', { body: { url: 'https://hooks.example.test/doomed' } })
    expect(again.status).toBe(201)
    expect((await t.call('GET', `/webhooks/${again.json.id}/attempts`)).json.total).toBe(0)

    const spy = spied(t.db)
    expect(await purgeDeletedSubscriptions(spy.db, 400)).toEqual({ subscriptions: 1, events: 2_500, attempts: 4_500 })
    expect(Math.max(...spy.rows)).toBeLessThanOrEqual(400)
    expect(spy.rows.filter((n) => n > 0).length).toBeGreaterThanOrEqual(Math.ceil(7_000 / 400))
    expect(await counts(doomed.id)).toEqual({ events: 0, attempts: 0 })
    expect(await t.db.$count(webhookSubscriptions, eq(webhookSubscriptions.id, doomed.id))).toBe(0)
    expect(await counts(kept.id)).toEqual({ events: 300, attempts: 300 })
    expect(await purgeDeletedSubscriptions(t.db)).toEqual({ subscriptions: 0, events: 0, attempts: 0 })
  })

  testOnPostgres(
    'at 20 000 events and attempts (20 batches) the answer touches neither table (it is served while both are locked), and the purge then empties them',
    async () => {
      const doomed = (await t.call('POST', '/webhooks', { body: { url: 'https://hooks.example.test/big' } })).json
      const kept = (await t.call('POST', '/webhooks', { key: KEY_B, body: { url: 'https://hooks.example.test/other' } })).json
      await history(doomed.id, 20_000)
      await history(kept.id, 1_000)
      await t.db.execute(sql`analyze webhook_events`)
      // Another session holds both history tables: a DELETE that touched them would wait for it.
      const other = postgres(t.database.url!, { max: 1, onnotice: () => {} })
      try {
        let release!: () => void
        const held = new Promise<void>((r) => {
          release = r
        })
        let locked!: () => void
        const lockedNow = new Promise<void>((r) => {
          locked = r
        })
        const holder = other.begin(async (tx) => {
          await tx`lock table webhook_events, webhook_attempts in access exclusive mode`
          locked()
          await held
        })
        await lockedNow
        const answer = await Promise.race([
          t.call('DELETE', `/webhooks/${doomed.id}`).then((r) => r.status),
          Bun.sleep(10_000).then(() => 'still waiting on the locked history tables'),
        ])
        expect(answer).toBe(204)
        expect((await t.call('GET', `/webhooks/${doomed.id}`)).status).toBe(404)
        release()
        await holder
      } finally {
        await other.end()
      }
      const spy = spied(t.db)
      const purged = await purgeSubscription(spy.db, doomed.id)
      expect(purged).toEqual({ events: 20_000, attempts: 20_000 })
      expect(Math.max(...spy.rows)).toBeLessThanOrEqual(1_000)
      expect(await counts(doomed.id)).toEqual({ events: 0, attempts: 0 })
      expect(await counts(kept.id)).toEqual({ events: 1_000, attempts: 1_000 })
    },
    120_000,
  )

  testOnPostgres(
    'the purge waits for a transaction still writing events for the webhook, then removes those too (no orphans)',
    async () => {
      const hook = (await t.call('POST', '/webhooks', { body: { url: 'https://hooks.example.test/racing' } })).json
      const created = await t.call('POST', '/deliveries', { body: deliveryBody() })
      const [client] = await t.db.select().from(apiClients).where(eq(apiClients.name, 'a'))
      const [delivery] = await queryRows<{ id: string }>(
        t.db,
        sql`select id from deliveries where tracking_number = ${created.json.tracking_number}`,
      )
      // A status change in flight (as the tick or a new delivery writes it): it saw the webhook live.
      let commit!: () => void
      const committed = new Promise<void>((r) => {
        commit = r
      })
      let wrote!: () => void
      const written = new Promise<void>((r) => {
        wrote = r
      })
      const writer = t.db.transaction(async (tx) => {
        await enqueueStatusEvent(tx, client!.id, {
          deliveryId: delivery!.id,
          trackingNumber: created.json.tracking_number,
          foreignOrderId: created.json.order.foreign_order_id,
          status: 'IN_ORIGIN',
          previousStatus: 'READY_FOR_PICK_UP',
          at: new Date(),
        })
        wrote()
        await committed
      })
      await written
      expect((await t.call('DELETE', `/webhooks/${hook.id}`)).status).toBe(204)
      let purgeDone = false
      const purge = purgeDeletedSubscriptions(t.db).then((r) => {
        purgeDone = true
        return r
      })
      await Bun.sleep(300)
      expect(purgeDone).toBe(false) // held at the fence
      commit()
      await writer
      expect(await purge).toEqual({ subscriptions: 1, events: 2, attempts: 0 })
      expect(await t.db.$count(webhookEvents, eq(webhookEvents.subscriptionId, hook.id))).toBe(0)
    },
  )
})

describe('retention (WEBHOOK_RETENTION_DAYS)', () => {
  test('deletes delivered and given-up events and attempts older than the window, in batches; keeps pending and recent ones', async () => {
    const hook = (await t.call('POST', '/webhooks', { body: { url: 'https://hooks.example.test/retention' } })).json
    const other = (await t.call('POST', '/webhooks', { key: KEY_B, body: { url: 'https://hooks.example.test/retention-b' } })).json
    // Written oldest first, as time goes.
    await history(other.id, 12, { state: 'delivered', ageDays: 60 })
    await history(hook.id, 15, { state: 'failed', ageDays: 45 })
    await history(hook.id, 40, { state: 'delivered', ageDays: 31 })
    await history(hook.id, 5, { state: 'pending', ageDays: 31, attemptsEach: 0 })
    await history(hook.id, 20, { state: 'delivered', ageDays: 29 })
    await history(hook.id, 10, { state: 'failed', ageDays: 2 })
    const spy = spied(t.db)
    expect(await pruneWebhookHistory(spy.db, { retentionDays: 30, batchSize: 7 })).toEqual({ events: 40 + 15 + 12, attempts: 40 + 15 + 12 })
    expect(Math.max(...spy.rows)).toBeLessThanOrEqual(7)
    const left = await queryRows<{ state: string; old: boolean; n: number }>(
      t.db,
      sql`select state, created_at < now() - interval '30 days' as old, count(*)::int as n from webhook_events group by 1, 2 order by 1, 2`,
    )
    expect(left).toEqual([
      { state: 'delivered', old: false, n: 20 },
      { state: 'failed', old: false, n: 10 },
      { state: 'pending', old: true, n: 5 },
    ])
    expect(await t.db.$count(webhookAttempts)).toBe(30)
    // What recover can still reach: the given-up events within the window.
    const recovered = await t.call('POST', `/webhooks/${hook.id}/recover`, { body: { since: '2000-01-01T00:00:00Z' } })
    expect(recovered.json).toEqual({ recovered: 0 }) // their deliveries are not in this database: see the next describe
    expect(await pruneWebhookHistory(t.db, { retentionDays: 30 })).toEqual({ events: 0, attempts: 0 })
  })

  test('an attempt log older than the window goes, the event (still within it) stays', async () => {
    const hook = (await t.call('POST', '/webhooks', { body: { url: 'https://hooks.example.test/retention-attempts' } })).json
    await history(hook.id, 3, { state: 'delivered', ageDays: 10 })
    await t.db.execute(sql`update webhook_attempts set attempted_at = now() - interval '31 days'`)
    expect(await pruneWebhookHistory(t.db, { retentionDays: 30 })).toEqual({ events: 0, attempts: 3 })
    expect(await counts(hook.id)).toEqual({ events: 3, attempts: 0 })
  })
})

describe('recover and withdrawn deliveries', () => {
  test('never re-queues the events of a delivery that was withdrawn; those of a delivery still there, once', async () => {
    let down = true
    const r = receiver(() => (down ? 500 : 204))
    stops.push(r.stop)
    const hook = (await t.call('POST', '/webhooks', { body: { url: r.url } })).json
    const withdrawn = (await t.call('POST', '/deliveries', { body: deliveryBody() })).json
    const kept = (await t.call('POST', '/deliveries', { body: deliveryBody() })).json
    // Both READY_FOR_PICK_UP events are given up (a short give-up window), then one parcel is withdrawn.
    const c = clock()
    const dispatcher = createDispatcher(t.db, silentLogger, { now: c.now, giveUpAfterMs: 0 })
    await dispatcher.runOnce()
    expect(await t.db.$count(webhookEvents, eq(webhookEvents.state, 'failed'))).toBe(2)
    expect((await t.call('DELETE', `/deliveries/${withdrawn.tracking_number}`)).status).toBe(204)
    expect((await t.call('GET', `/deliveries/${withdrawn.tracking_number}`)).status).toBe(404)
    down = false
    const recovered = await t.call('POST', `/webhooks/${hook.id}/recover`, { body: { since: '2000-01-01T00:00:00Z' } })
    expect(recovered.json).toEqual({ recovered: 1 })
    const before = r.received.length
    c.advance(3_600_000)
    await dispatcher.runOnce()
    const sent = r.received.slice(before).map((x) => JSON.parse(x.body).data.tracking_number)
    expect(sent).toEqual([kept.tracking_number])
    // A pending event of a parcel withdrawn later is given up with it, and recover leaves it too.
    const late = (await t.call('POST', '/deliveries', { body: deliveryBody() })).json
    expect((await t.call('DELETE', `/deliveries/${late.tracking_number}`)).status).toBe(204)
    expect((await t.call('POST', `/webhooks/${hook.id}/recover`, { body: { since: '2000-01-01T00:00:00Z' } })).json).toEqual({
      recovered: 0,
    })
    c.advance(3_600_000)
    expect(await dispatcher.runOnce()).toEqual({ sent: 0 })
  })

  testOnPostgres('a recover racing a withdrawal never leaves an event of the withdrawn parcel queued', async () => {
    const hook = (await t.call('POST', '/webhooks', { body: { url: 'https://hooks.example.test/race' } })).json
    for (let round = 0; round < 20; round++) {
      const created = (await t.call('POST', '/deliveries', { body: deliveryBody() })).json
      await t.db.update(webhookEvents).set({ state: 'failed' }).where(eq(webhookEvents.state, 'pending'))
      const [withdraw] = await Promise.all([
        t.call('DELETE', `/deliveries/${created.tracking_number}`),
        t.call('POST', `/webhooks/${hook.id}/recover`, { body: { since: '2000-01-01T00:00:00Z' } }),
      ])
      expect(withdraw.status).toBe(204)
      const queued = await queryRows<{ n: number }>(
        t.db,
        sql`select count(*)::int as n from webhook_events e
            where e.state = 'pending' and not exists (select 1 from deliveries d where d.id = e.delivery_id)`,
      )
      expect(queued[0]!.n).toBe(0)
    }
  })
})
