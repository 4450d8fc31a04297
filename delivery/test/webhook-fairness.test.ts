import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { silentLogger, type WebhookEvent } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { callApp } from '@logistics/testkit/http'
import { eq, sql } from 'drizzle-orm'
import { createApp } from '../src/app'
import { webhookEvents } from '../src/db/schema'
import { advanceDeliveries } from '../src/modules/transitions/tick'
import { createDispatcher } from '../src/modules/webhooks/dispatcher'
import { giveUpDisabledEvents } from '../src/modules/webhooks/retention'
import { clearDeliveries, type DeliveryTestContext, deliveryBody, KEY_A, KEY_B, setupDelivery, testConfig } from './helpers'
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

describe('fair sending', () => {
  test('a receiver that never answers (client A, 60 events) does not delay a fast one (client B); A holds at most its share of sends', async () => {
    const timeoutMs = 4_000
    const stuckArrivals: number[] = []
    const stuck = Bun.serve({
      port: 0,
      idleTimeout: 0,
      async fetch(req) {
        stuckArrivals.push(performance.now())
        await req.text()
        await Bun.sleep(timeoutMs * 3) // never answers in time
        return new Response(null, { status: 204 })
      },
    })
    const fastArrivals: { at: number; body: string }[] = []
    const fast = Bun.serve({
      port: 0,
      async fetch(req) {
        fastArrivals.push({ at: performance.now(), body: await req.text() })
        return new Response(null, { status: 204 })
      },
    })
    stops.push(
      () => stuck.stop(true),
      () => fast.stop(true),
    )
    await t.call('POST', '/webhooks', { body: { url: `http://127.0.0.1:${stuck.port}/hook` } })
    await t.call('POST', '/webhooks', { key: KEY_B, body: { url: `http://127.0.0.1:${fast.port}/hook` } })
    // A's 60 events are written first (the old claim took them first, in no fair order), then B's 5.
    for (let i = 0; i < 60; i++) expect((await t.call('POST', '/deliveries', { body: deliveryBody() })).status).toBe(201)
    for (let i = 0; i < 5; i++) expect((await t.call('POST', '/deliveries', { key: KEY_B, body: deliveryBody() })).status).toBe(201)
    const perSubscription = 4
    const dispatcher = createDispatcher(t.db, silentLogger, { timeoutMs, pollMs: 20, perSubscriptionConcurrency: perSubscription })
    const started = performance.now()
    dispatcher.start()
    try {
      for (let i = 0; i < 400 && fastArrivals.length < 5; i++) await Bun.sleep(10)
      // B's events all arrived while A's first sends were still hanging (before any of them timed out).
      expect(fastArrivals).toHaveLength(5)
      expect(stuckArrivals.length).toBeGreaterThan(0)
      expect(fastArrivals.at(-1)!.at).toBeLessThan(stuckArrivals[0]! + timeoutMs)
      // B's later events too: due while A still hangs, they go out at the next claim.
      for (let i = 0; i < 3; i++) expect((await t.call('POST', '/deliveries', { key: KEY_B, body: deliveryBody() })).status).toBe(201)
      for (let i = 0; i < 400 && fastArrivals.length < 8; i++) await Bun.sleep(10)
      expect(fastArrivals).toHaveLength(8)
      expect(fastArrivals.at(-1)!.at).toBeLessThan(stuckArrivals[0]! + timeoutMs)
      // A held at most its share of the sends while they hung.
      expect(stuckArrivals.filter((at) => at < started + timeoutMs).length).toBeLessThanOrEqual(perSubscription)
    } finally {
      await dispatcher.stop()
    }
  }, 30_000)
})

describe('the claim', () => {
  /** `n` receivers (each its own endpoint), registered by `key`, answering `status`. */
  async function endpoints(key: string | undefined, n: number, status = 204) {
    const list = Array.from({ length: n }, () => receiver(() => status))
    for (const r of list) {
      stops.push(r.stop)
      expect((await t.call('POST', '/webhooks', { key, body: { url: r.url } })).status).toBe(201)
    }
    return list
  }

  test('takes at most perSubscriptionConcurrency of one subscription and perClientConcurrency of one client, dealt out evenly', async () => {
    const a = await endpoints(undefined, 3, 500)
    const b = await endpoints(KEY_B, 1, 500)
    for (let i = 0; i < 10; i++) await t.call('POST', '/deliveries', { body: deliveryBody() })
    for (let i = 0; i < 10; i++) await t.call('POST', '/deliveries', { key: KEY_B, body: deliveryBody() })
    const dispatcher = createDispatcher(t.db, silentLogger, { perSubscriptionConcurrency: 4, perClientConcurrency: 6 })
    // Every endpoint fails, so the run is one claim (after it, each is failing and waits for its probe).
    expect(await dispatcher.runOnce()).toEqual({ sent: 10 })
    expect(a.map((r) => r.received.length)).toEqual([2, 2, 2])
    expect(b[0]!.received).toHaveLength(4)
  })

  test('deals a small room round robin: the subscriptions left out of one claim come first in the next', async () => {
    const all = [...(await endpoints(undefined, 2)), ...(await endpoints(KEY_B, 2))]
    for (let i = 0; i < 3; i++) await t.call('POST', '/deliveries', { body: deliveryBody() })
    for (let i = 0; i < 3; i++) await t.call('POST', '/deliveries', { key: KEY_B, body: deliveryBody() })
    const order: string[] = []
    for (const [i, r] of all.entries()) {
      const push = r.received.push.bind(r.received)
      r.received.push = (...items) => {
        order.push(String(i))
        return push(...items)
      }
    }
    expect(await createDispatcher(t.db, silentLogger, { concurrency: 2 }).runOnce()).toEqual({ sent: 12 })
    // Claims of two: the first four sends reach all four endpoints, and so does every later round.
    for (let round = 0; round < 3; round++) expect(order.slice(round * 4, round * 4 + 4).toSorted()).toEqual(['0', '1', '2', '3'])
  })
})

describe('waking the dispatcher', () => {
  test('a new delivery, an enabled endpoint and a recover that re-queued something wake it (their events are due now)', async () => {
    let woken = 0
    const app = createApp({ db: t.db, config: testConfig(), logger: silentLogger, notifyWebhooks: () => woken++ })
    const call = (method: string, path: string, body?: unknown) =>
      callApp(app, method, path, { headers: { authorization: `Bearer ${KEY_A}` }, body })
    const hook = (await call('POST', '/webhooks', { url: 'https://hooks.example.test/wake' })).json
    const body = deliveryBody()
    expect((await call('POST', '/deliveries', body)).status).toBe(201)
    expect(woken).toBe(1)
    expect((await call('POST', '/deliveries', body)).status).toBe(200) // the same order: nothing new
    expect(woken).toBe(1)
    expect((await call('POST', `/webhooks/${hook.id}/recover`, { since: '2000-01-01T00:00:00Z' })).json).toEqual({ recovered: 0 })
    expect(woken).toBe(1)
    await t.db.update(webhookEvents).set({ state: 'failed' })
    expect((await call('POST', `/webhooks/${hook.id}/recover`, { since: '2000-01-01T00:00:00Z' })).json).toEqual({ recovered: 1 })
    expect(woken).toBe(2)
    expect((await call('POST', `/webhooks/${hook.id}/enable`)).status).toBe(200)
    expect(woken).toBe(3)
  })
})

describe('a failing endpoint', () => {
  // Short numbers for the test: probes 1 s, 2 s, 4 s… apart (at most 10 s); disabled after 5 failures over at least a minute.
  const endpointRule = { baseMs: 1_000, maxMs: 10_000, disableAfterFailures: 5, disableAfterMs: 60_000 }

  test('backs off on its own schedule with one probe at a time, is disabled after its run of failures, sends nothing while disabled; enabled and recovered, it gets every event once, in order', async () => {
    let down = true
    const r = receiver(() => (down ? 500 : 204))
    stops.push(r.stop)
    const hook = (await t.call('POST', '/webhooks', { body: { url: r.url } })).json
    for (let i = 0; i < 12; i++) await t.call('POST', '/deliveries', { body: deliveryBody() })
    const c = clock()
    const dispatcher = createDispatcher(t.db, silentLogger, { now: c.now, random: () => 0.5, perSubscriptionConcurrency: 4, endpointRule })
    const view = async () => (await t.call('GET', `/webhooks/${hook.id}`)).json

    // The first claim takes the endpoint's share (4); all fail at once: it is failing, and waits 1 s (the base; four
    // sends failing together are one failure of the endpoint, not four doublings).
    expect(await dispatcher.runOnce()).toEqual({ sent: 4 })
    expect(await view()).toMatchObject({ state: 'failing', consecutive_failures: 4, last_error: 'HTTP 500', disabled_at: null })
    const wait = async () =>
      Number(
        (
          await queryRows<{ wait: number }>(
            t.db,
            sql`select extract(epoch from retry_at - last_error_at) * 1000 as wait from webhook_subscriptions where id = ${hook.id}`,
          )
        )[0]!.wait,
      )
    expect(await wait()).toBe(1_000)
    expect(await dispatcher.runOnce()).toEqual({ sent: 0 }) // not before its retry time
    c.advance(900)
    expect(await dispatcher.runOnce()).toEqual({ sent: 0 })
    // Then one probe at a time, each after as long as the run has lasted (1 s, 2 s, 4 s, 8 s, then the 10 s cap),
    // until it is disabled (5 failures, and a minute).
    const waits: number[] = []
    c.advance(100)
    while ((await view()).state === 'failing') {
      expect(await dispatcher.runOnce()).toEqual({ sent: 1 })
      if ((await view()).state !== 'failing') break
      waits.push(await wait())
      c.advance(waits.at(-1)!)
      expect(waits.length).toBeLessThan(20)
    }
    expect(waits.slice(0, 6)).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000])
    const disabled = await view()
    expect(disabled).toMatchObject({ state: 'disabled', last_error: 'HTTP 500' })
    expect(disabled.consecutive_failures).toBeGreaterThanOrEqual(5)
    expect(new Date(disabled.disabled_at).getTime() - new Date(disabled.failing_since).getTime()).toBeGreaterThanOrEqual(60_000)
    expect((await t.call('GET', '/webhooks')).json.data[0]).toMatchObject({ id: hook.id, state: 'disabled' })
    // Its pending events were given up, and so are those written while it is disabled; nothing is sent.
    expect(await t.db.$count(webhookEvents, eq(webhookEvents.state, 'pending'))).toBe(0)
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    await advanceDeliveries(t.db, { now: c.now() })
    expect(await t.db.$count(webhookEvents, eq(webhookEvents.state, 'pending'))).toBe(0)
    const sentBefore = r.received.length
    c.advance(3_600_000)
    expect(await dispatcher.runOnce()).toEqual({ sent: 0 })
    expect(r.received.length).toBe(sentBefore)
    // Recover waits for it to be enabled.
    expect((await t.call('POST', `/webhooks/${hook.id}/recover`, { body: { since: '2000-01-01T00:00:00Z' } })).status).toBe(409)

    // The receiver is fixed; the client enables the endpoint: active, but nothing is re-sent by itself.
    down = false
    const enabled = await t.call('POST', `/webhooks/${hook.id}/enable`)
    expect(enabled.status).toBe(200)
    expect(enabled.json).toMatchObject({ id: hook.id, state: 'active', consecutive_failures: 0, disabled_at: null, failing_since: null })
    expect(await dispatcher.runOnce()).toEqual({ sent: 0 })
    // Recover re-sends what it missed: every event once, each delivery's in order.
    const all = await t.db.select().from(webhookEvents)
    const recovered = await t.call('POST', `/webhooks/${hook.id}/recover`, { body: { since: '2000-01-01T00:00:00Z' } })
    expect(recovered.json).toEqual({ recovered: all.length })
    const delivered = r.received.length
    for (let i = 0; i < 5 && (await dispatcher.runOnce()).sent > 0; i++) c.advance(1_000)
    const after = r.received.slice(delivered)
    expect(after.map((x) => x.id).toSorted()).toEqual(all.map((e) => e.id).toSorted())
    const byDelivery = new Map<string, string[]>()
    for (const x of after) {
      const e = JSON.parse(x.body) as WebhookEvent
      byDelivery.set(e.data.tracking_number, [...(byDelivery.get(e.data.tracking_number) ?? []), e.data.status])
    }
    for (const statuses of byDelivery.values()) expect(statuses[0]).toBe('READY_FOR_PICK_UP')
    expect([...byDelivery.values()].some((statuses) => statuses.length === 2)).toBe(true)
    expect(await view()).toMatchObject({ state: 'active', consecutive_failures: 0 })
  })

  test('a 2xx ends the run: the next claim takes the full share again', async () => {
    let down = true
    const r = receiver(() => (down ? 503 : 204))
    stops.push(r.stop)
    const hook = (await t.call('POST', '/webhooks', { body: { url: r.url } })).json
    for (let i = 0; i < 10; i++) await t.call('POST', '/deliveries', { body: deliveryBody() })
    const c = clock()
    const dispatcher = createDispatcher(t.db, silentLogger, { now: c.now, random: () => 0.5, perSubscriptionConcurrency: 3, endpointRule })
    expect(await dispatcher.runOnce()).toEqual({ sent: 3 })
    down = false
    c.advance(10_000)
    // The probe succeeds; the same run then takes the endpoint's share at a time until all is sent.
    expect(await dispatcher.runOnce()).toEqual({ sent: 10 })
    const view = (await t.call('GET', `/webhooks/${hook.id}`)).json
    expect(view).toMatchObject({ state: 'active', consecutive_failures: 0, failing_since: null, last_error: 'HTTP 503' })
  })

  test('its client registering the url again (a receiver starting up) has it probed at once, its run of failures kept', async () => {
    let down = true
    const r = receiver(() => (down ? 503 : 204))
    stops.push(r.stop)
    const hook = (await t.call('POST', '/webhooks', { body: { url: r.url } })).json
    for (let i = 0; i < 3; i++) await t.call('POST', '/deliveries', { body: deliveryBody() })
    const c = clock()
    const dispatcher = createDispatcher(t.db, silentLogger, { now: c.now, random: () => 0.5, endpointRule })
    for (let i = 0; i < 4; i++) {
      await dispatcher.runOnce()
      c.advance(10_000)
    }
    const failing = (await t.call('GET', `/webhooks/${hook.id}`)).json
    expect(failing).toMatchObject({ state: 'failing' })
    c.advance(-10_000) // the last probe's retry time is ahead again
    down = false
    expect(await dispatcher.runOnce()).toEqual({ sent: 0 })
    const again = await t.call('POST', '/webhooks', { body: { url: r.url } })
    expect(again.status).toBe(200)
    expect(again.json).toMatchObject({ state: 'failing', consecutive_failures: failing.consecutive_failures })
    c.advance(5_000) // the events' own retry delay (2 s after their last attempt), not the endpoint's
    expect(await dispatcher.runOnce()).toEqual({ sent: 3 })
    expect((await t.call('GET', `/webhooks/${hook.id}`)).json).toMatchObject({ state: 'active' })
  })

  test('registering the url of a disabled endpoint enables it again (200, the same webhook)', async () => {
    const hook = (await t.call('POST', '/webhooks', { body: { url: 'https://hooks.example.test/disabled' } })).json
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    await t.db.execute(
      sql`update webhook_subscriptions set disabled_at = now(), consecutive_failures = 30, failing_since = now() - interval '2 days' where id = ${hook.id}`,
    )
    expect(await giveUpDisabledEvents(t.db)).toBe(1)
    const again = await t.call('POST', '/webhooks', { body: { url: 'https://hooks.example.test/disabled' } })
    expect(again.status).toBe(200)
    expect(again.json).toMatchObject({ id: hook.id, secret: hook.secret, state: 'active', consecutive_failures: 0, disabled_at: null })
    // Another client's endpoints are not touched by this one's registration.
    expect((await t.call('GET', '/webhooks', { key: KEY_B })).json.total).toBe(0)
  })
})
