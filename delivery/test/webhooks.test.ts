import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { silentLogger, type WebhookEvent, WebhookEventSchema } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { capturingLogger } from '@logistics/testkit/logging'
import { eq, sql } from 'drizzle-orm'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import * as v from 'valibot'
import { deliveries, webhookAttempts, webhookEvents, webhookSubscriptions } from '../src/db/schema'
import { advanceDeliveries } from '../src/modules/transitions/tick'
import { claimStatement } from '../src/modules/webhooks/claim'
import { backoffMs, createDispatcher } from '../src/modules/webhooks/dispatcher'
import { purgeDeletedSubscriptions } from '../src/modules/webhooks/retention'
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

/**
 * A raw TCP receiver that drops the connection without answering for its first `drops`
 * connections, then answers 204.
 */
function droppingReceiver(drops: number) {
  let connections = 0
  const ids: string[] = []
  const listener = Bun.listen<{ n: number; buf: string }>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(socket) {
        socket.data = { n: connections++, buf: '' }
      },
      data(socket, chunk) {
        socket.data.buf += chunk.toString()
        const end = socket.data.buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const length = Number(socket.data.buf.match(/content-length: (\d+)/i)?.[1] ?? 0)
        if (socket.data.buf.length < end + 4 + length) return
        ids.push(socket.data.buf.match(/webhook-id: (\S+)/i)?.[1] ?? '')
        if (socket.data.n < drops) socket.end()
        else socket.end('HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n')
      },
    },
  })
  return { url: `http://127.0.0.1:${listener.port}/hook`, ids, stop: () => listener.stop(true) }
}

let stops: (() => unknown)[] = []
afterEach(() => {
  for (const s of stops) s()
  stops = []
})

describe('webhook subscriptions', () => {
  test('registering answers 201 with a generated whsec_ secret; the same url again 200; another secret rotates it in place', async () => {
    const res = await t.call('POST', '/webhooks', { body: { url: 'https://example.test/hook' } })
    expect(res.status).toBe(201)
    expect(res.json.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/)
    expect(res.headers.get('location')).toBe(`/webhooks/${res.json.id}`)
    const again = await t.call('POST', '/webhooks', { body: { url: 'https://example.test/hook', secret: res.json.secret } })
    expect(again.status).toBe(200)
    expect(again.json.id).toBe(res.json.id)
    const otherSecret = `whsec_${Buffer.from('another secret of 24 bytes').toString('base64')}`
    const other = await t.call('POST', '/webhooks', { body: { url: 'https://example.test/hook', secret: otherSecret } })
    expect(other.status).toBe(200)
    expect(other.json).toMatchObject({ id: res.json.id, secret: otherSecret })
    expect((await t.call('GET', `/webhooks/${res.json.id}`)).json.secret).toBe(otherSecret)
    expect((await t.call('GET', '/webhooks')).json.total).toBe(1)
    // Without a secret: the existing one, unchanged.
    expect((await t.call('POST', '/webhooks', { body: { url: 'https://example.test/hook' } })).json.secret).toBe(otherSecret)
  })

  test('rejects a url that is not http(s) and a weak secret with 422', async () => {
    expect((await t.call('POST', '/webhooks', { body: { url: 'ftp://example.test' } })).status).toBe(422)
    expect((await t.call('POST', '/webhooks', { body: { url: 'not a url' } })).status).toBe(422)
    expect((await t.call('POST', '/webhooks', { body: { url: 'https://e.test', secret: 'short' } })).status).toBe(422)
    // The contract's rule: whsec_ + base64 of 24–64 bytes.
    const b64 = (n: number) => Buffer.alloc(n, 1).toString('base64')
    expect((await t.call('POST', '/webhooks', { body: { url: 'https://e.test', secret: `whsec_${b64(16)}` } })).status).toBe(422)
    expect((await t.call('POST', '/webhooks', { body: { url: 'https://e.test', secret: b64(32) } })).status).toBe(422)
    expect((await t.call('POST', '/webhooks', { body: { url: 'https://e.test', secret: `whsec_${b64(65)}` } })).status).toBe(422)
    const bad = await t.call('POST', '/webhooks', { body: { url: 'https://e.test', secret: 'mysecret' } })
    expect(bad.json.errors).toEqual([{ path: 'secret', message: expect.stringContaining('whsec_') }])
    expect((await t.call('POST', '/webhooks', { body: { url: 'https://e.test', secret: `whsec_${b64(24)}` } })).status).toBe(201)
  })

  test('lists (without secrets), views, deletes; another client sees none of it', async () => {
    const { json } = await t.call('POST', '/webhooks', { body: { url: 'https://example.test/a' } })
    const list = await t.call('GET', '/webhooks')
    expect(list.json.total).toBe(1)
    expect(list.json.data[0]).toEqual({
      id: json.id,
      url: 'https://example.test/a',
      created_at: json.created_at,
      state: 'active',
      consecutive_failures: 0,
      failing_since: null,
      last_error: null,
      last_error_at: null,
      disabled_at: null,
    })
    expect((await t.call('GET', `/webhooks/${json.id}`)).json.secret).toBe(json.secret)
    expect((await t.call('GET', `/webhooks/${json.id}`, { key: KEY_B })).status).toBe(404)
    expect((await t.call('GET', `/webhooks/${json.id}/attempts`, { key: KEY_B })).status).toBe(404)
    expect((await t.call('DELETE', `/webhooks/${json.id}`, { key: KEY_B })).status).toBe(404)
    expect((await t.call('GET', '/webhooks', { key: KEY_B })).json.total).toBe(0)
    expect((await t.call('DELETE', `/webhooks/${json.id}`)).status).toBe(204)
    expect((await t.call('GET', `/webhooks/${json.id}`)).status).toBe(404)
    expect((await t.call('DELETE', `/webhooks/${json.id}`)).status).toBe(404)
    expect((await t.call('GET', '/webhooks')).json.total).toBe(0)
    await purgeDeletedSubscriptions(t.db)
    expect(await t.db.$count(webhookSubscriptions)).toBe(0)
    expect((await t.call('GET', '/webhooks/not-a-uuid')).status).toBe(404)
  })
})

describe('the first status is notified too', () => {
  test('a new delivery writes one READY_FOR_PICK_UP event (previous_status null) per subscription of its client, with the delivery', async () => {
    await t.call('POST', '/webhooks', { body: { url: 'http://127.0.0.1:9/one' } })
    await t.call('POST', '/webhooks', { body: { url: 'http://127.0.0.1:9/two' } })
    await t.call('POST', '/webhooks', { key: KEY_B, body: { url: 'http://127.0.0.1:9/other-client' } })
    const body = deliveryBody()
    const created = await t.call('POST', '/deliveries', { body })
    expect(created.status).toBe(201)
    const rows = await t.db.select().from(webhookEvents)
    expect(rows).toHaveLength(2)
    const [delivery] = await t.db.select().from(deliveries).where(eq(deliveries.trackingNumber, created.json.tracking_number))
    for (const row of rows) {
      expect(row.deliveryId).toBe(delivery!.id)
      expect(row.state).toBe('pending')
      const event = v.parse(WebhookEventSchema, JSON.parse(row.payload))
      expect(event).toEqual({
        type: 'delivery.status_changed',
        timestamp: created.json.created_at,
        data: {
          tracking_number: created.json.tracking_number,
          foreign_order_id: created.json.order.foreign_order_id,
          status: 'READY_FOR_PICK_UP',
          previous_status: null,
          date: created.json.created_at,
        },
      })
    }
    // The same order again (idempotent 200) or with another body (409) notifies nothing new.
    expect((await t.call('POST', '/deliveries', { body })).status).toBe(200)
    expect(
      (await t.call('POST', '/deliveries', { body: { ...body, destination: { name: 'Someone else', address: 'Elsewhere 1' } } })).status,
    ).toBe(409)
    expect(await t.db.$count(webhookEvents)).toBe(2)
  })
})

describe('the dispatcher', () => {
  test('delivers every status change signed per Standard Webhooks (checked by the reference library)', async () => {
    const r = receiver()
    stops.push(r.stop)
    const hook = await t.call('POST', '/webhooks', { body: { url: r.url } })
    const created = await t.call('POST', '/deliveries', { body: deliveryBody() })
    const base = Date.now()
    await advanceDeliveries(t.db, { now: new Date(base) })
    const dispatcher = createDispatcher(t.db, silentLogger)
    // The creation (the first status, previous_status null) and the tick's change, in order.
    expect(await dispatcher.runOnce()).toEqual({ sent: 2 })
    expect(r.received).toHaveLength(2)
    const verifier = new StandardWebhook(hook.json.secret)
    const [first, got] = r.received.map((x) => ({
      ...x,
      event: verifier.verify(x.body, {
        'webhook-id': x.id,
        'webhook-timestamp': x.timestamp,
        'webhook-signature': x.signature,
      }) as WebhookEvent,
    })) as [{ event: WebhookEvent }, (typeof r.received)[number] & { event: WebhookEvent }]
    expect(first.event.data).toEqual({
      tracking_number: created.json.tracking_number,
      foreign_order_id: created.json.order.foreign_order_id,
      status: 'READY_FOR_PICK_UP',
      previous_status: null,
      date: created.json.created_at,
    })
    expect(got.event.data).toMatchObject({
      tracking_number: created.json.tracking_number,
      status: 'IN_ORIGIN',
      previous_status: 'READY_FOR_PICK_UP',
    })
    // A tampered body does not verify.
    expect(() =>
      verifier.verify(got.body.replace('IN_ORIGIN', 'DELIVERED'), {
        'webhook-id': got.id,
        'webhook-timestamp': got.timestamp,
        'webhook-signature': got.signature,
      }),
    ).toThrow()
    // Acknowledged: never sent again.
    expect(await dispatcher.runOnce()).toEqual({ sent: 0 })
    const attempts = await t.call('GET', `/webhooks/${hook.json.id}/attempts`)
    expect(attempts.json.data).toHaveLength(2)
    expect(attempts.json.data[0]).toMatchObject({ event_id: got.id, status_code: 204, error: null })
  })

  test('rotating the secret keeps the pending events: sent after it, signed so the new secret verifies (and the old one for 24 h)', async () => {
    const r = receiver((n) => (n === 0 ? 500 : 204))
    stops.push(r.stop)
    const secret = (s: string) => `whsec_${Buffer.from(s.padEnd(32, '.')).toString('base64')}`
    const [oldSecret, newSecret] = [secret('the old secret'), secret('the new secret')]
    const hook = await t.call('POST', '/webhooks', { body: { url: r.url, secret: oldSecret } })
    expect(hook.status).toBe(201)
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    const c = clock()
    await advanceDeliveries(t.db, { now: c.now() })
    const dispatcher = createDispatcher(t.db, silentLogger, { now: c.now, baseBackoffMs: 1_000 })
    await dispatcher.runOnce() // the receiver is down: every event stays pending
    const pendingBefore = await t.db.select({ id: webhookEvents.id }).from(webhookEvents).where(eq(webhookEvents.state, 'pending'))
    expect(pendingBefore.length).toBeGreaterThan(0)
    // The receiver comes back with another secret and registers again.
    const rotated = await t.call('POST', '/webhooks', { body: { url: r.url, secret: newSecret } })
    expect(rotated.status).toBe(200)
    expect(rotated.json).toMatchObject({ id: hook.json.id, secret: newSecret })
    for (let round = 0; round < 3; round++) {
      c.advance(5_000)
      await dispatcher.runOnce()
    }
    const events = await t.db.select().from(webhookEvents)
    expect(events.map((e) => e.id).sort()).toEqual(pendingBefore.map((e) => e.id).sort())
    expect(events.every((e) => e.state === 'delivered')).toBe(true)
    const afterRotation = r.received.slice(1)
    expect(afterRotation.map((x) => x.id).sort()).toEqual(pendingBefore.map((e) => e.id).sort())
    const headersOf = (x: (typeof r.received)[number]) => ({
      'webhook-id': x.id,
      'webhook-timestamp': x.timestamp,
      'webhook-signature': x.signature,
    })
    for (const x of afterRotation) {
      expect(new StandardWebhook(newSecret).verify(x.body, headersOf(x))).toBeTruthy()
      expect(new StandardWebhook(oldSecret).verify(x.body, headersOf(x))).toBeTruthy() // grace period
    }
    // Once the grace period is over, only the new secret signs.
    await t.db.update(webhookSubscriptions).set({ previousSecretExpiresAt: new Date(c.now().getTime() - 1) })
    await advanceDeliveries(t.db, { now: c.now() })
    await dispatcher.runOnce()
    const last = r.received.at(-1)!
    expect(last.signature.split(' ')).toHaveLength(1)
    expect(new StandardWebhook(newSecret).verify(last.body, headersOf(last))).toBeTruthy()
    expect(() => new StandardWebhook(oldSecret).verify(last.body, headersOf(last))).toThrow()
  })

  test('a receiver that fails first gets every event exactly once acknowledged, in order, with the attempts logged', async () => {
    // Fails the first three requests (500, 500, 503), then accepts everything.
    const r = receiver((n) => (n === 0 ? 500 : n === 1 ? 500 : n === 2 ? 503 : 204))
    stops.push(r.stop)
    const hook = await t.call('POST', '/webhooks', { body: { url: r.url } })
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    const c = clock()
    const dispatcher = createDispatcher(t.db, silentLogger, { now: c.now, baseBackoffMs: 1_000, random: () => 0.5 })
    // Creation + three ticks → 4 statuses × 2 deliveries = 8 events.
    for (let i = 0; i < 3; i++) await advanceDeliveries(t.db, { now: new Date(c.now().getTime() + i * 30_000) })
    for (let round = 0; round < 10; round++) {
      await dispatcher.runOnce()
      c.advance(60_000)
    }
    const events = await t.db.select().from(webhookEvents)
    expect(events).toHaveLength(8)
    expect(events.every((e) => e.state === 'delivered')).toBe(true)
    // Each event id was acknowledged (answered 2xx) exactly once.
    const acked = r.received.filter((_, n) => n > 2)
    expect(new Set(acked.map((x) => x.id)).size).toBe(8)
    expect(acked).toHaveLength(8)
    // Per delivery, the acknowledged statuses arrive in the order they happened.
    const byDelivery = new Map<string, string[]>()
    for (const x of acked) {
      const e = JSON.parse(x.body) as WebhookEvent
      byDelivery.set(e.data.tracking_number, [...(byDelivery.get(e.data.tracking_number) ?? []), e.data.status])
    }
    for (const statuses of byDelivery.values())
      expect(statuses.slice(0, 3)).toEqual(['READY_FOR_PICK_UP', 'IN_ORIGIN', 'IN_ROUTE_OF_DELIVERY'])
    const attempts = await t.call('GET', `/webhooks/${hook.json.id}/attempts?limit=100`)
    expect(attempts.json.total).toBe(11)
    const failures = attempts.json.data.filter((a: { error: string | null }) => a.error !== null)
    expect(failures.map((a: { status_code: number | null }) => a.status_code).sort()).toEqual([500, 500, 503])
  })

  test('a receiver that closes the connection is retried until it answers', async () => {
    const r = droppingReceiver(2)
    stops.push(r.stop)
    const hook = await t.call('POST', '/webhooks', { body: { url: r.url } })
    await t.call('POST', '/deliveries', { body: deliveryBody() }) // one event: the creation
    const c = clock()
    const dispatcher = createDispatcher(t.db, silentLogger, { now: c.now, baseBackoffMs: 1_000 })
    for (let round = 0; round < 4; round++) {
      await dispatcher.runOnce()
      c.advance(60_000)
    }
    expect(r.ids).toHaveLength(3)
    expect(new Set(r.ids).size).toBe(1) // the same event id on every retry
    const [event] = await t.db.select().from(webhookEvents)
    expect(event!.state).toBe('delivered')
    const attempts = (await t.call('GET', `/webhooks/${hook.json.id}/attempts`)).json.data
    expect(attempts.map((a: { status_code: number | null }) => a.status_code)).toEqual([204, null, null])
    expect(attempts.slice(1).map((a: { error: string | null }) => a.error)).toEqual(['connection-closed', 'connection-closed'])
  })

  test('retries with exponential backoff: not before the delay, then again', async () => {
    const r = receiver((n) => (n < 2 ? 500 : 204))
    stops.push(r.stop)
    await t.call('POST', '/webhooks', { body: { url: r.url } })
    await t.call('POST', '/deliveries', { body: deliveryBody() }) // one event: the creation
    const c = clock()
    const dispatcher = createDispatcher(t.db, silentLogger, { now: c.now, baseBackoffMs: 10_000, random: () => 0.5 })
    expect((await dispatcher.runOnce()).sent).toBe(1) // fails; retry due in 10 s
    c.advance(9_000)
    expect((await dispatcher.runOnce()).sent).toBe(0)
    c.advance(1_001)
    expect((await dispatcher.runOnce()).sent).toBe(1) // fails; retry due in 20 s
    c.advance(19_000)
    expect((await dispatcher.runOnce()).sent).toBe(0)
    c.advance(1_001)
    expect((await dispatcher.runOnce()).sent).toBe(1) // succeeds
    expect(r.received).toHaveLength(3)
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(750)
    expect(backoffMs(3, 1000, 60_000, () => 1)).toBe(5000)
    expect(backoffMs(30, 1000, 60_000, () => 0.5)).toBe(60_000)
  })

  test('gives up after ~24 h of failures and marks the event failed', async () => {
    const r = receiver(() => 500)
    stops.push(r.stop)
    await t.call('POST', '/webhooks', { body: { url: r.url } })
    await t.call('POST', '/deliveries', { body: deliveryBody() }) // one event: the creation
    const c = clock()
    const dispatcher = createDispatcher(t.db, silentLogger, { now: c.now, baseBackoffMs: 1_000, maxBackoffMs: 6 * 3600_000 })
    for (let i = 0; i < 40; i++) {
      await dispatcher.runOnce()
      c.advance(3 * 3600_000)
    }
    const [event] = await t.db.select().from(webhookEvents)
    expect(event!.state).toBe('failed')
    expect(event!.lastError).toBe('HTTP 500')
    const sentAfterGiveUp = r.received.length
    await dispatcher.runOnce()
    expect(r.received.length).toBe(sentAfterGiveUp)
  })

  test('a webhook deleted while one of its events is in flight: no error logged (no SQL), other outcomes still recorded', async () => {
    const { logger, lines } = capturingLogger()
    let doomedId = ''
    const doomed = Bun.serve({
      port: 0,
      async fetch() {
        // The client removes the webhook while the event is being delivered.
        expect((await t.call('DELETE', `/webhooks/${doomedId}`)).status).toBe(204)
        return new Response(null, { status: 204 })
      },
    })
    const healthy = receiver()
    stops.push(() => doomed.stop(true), healthy.stop)
    doomedId = (await t.call('POST', '/webhooks', { body: { url: `http://127.0.0.1:${doomed.port}/hook` } })).json.id
    const kept = (await t.call('POST', '/webhooks', { body: { url: healthy.url } })).json.id
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    await advanceDeliveries(t.db, { now: new Date() })
    const dispatcher = createDispatcher(t.db, logger)
    await dispatcher.runOnce()
    // The purge worker removes the deleted webhook's events and attempts (the in-flight one's too).
    await purgeDeletedSubscriptions(t.db)
    expect(lines.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([])
    expect(JSON.stringify(lines)).not.toMatch(/insert into|foreign key/i)
    expect(await t.db.$count(webhookEvents, eq(webhookEvents.subscriptionId, doomedId))).toBe(0)
    expect(await t.db.$count(webhookAttempts, eq(webhookAttempts.subscriptionId, doomedId))).toBe(0)
    // The other subscription's outcome (same batch) was written: delivered, not re-sent.
    const keptEvents = await t.db.select().from(webhookEvents).where(eq(webhookEvents.subscriptionId, kept))
    expect(keptEvents.length).toBeGreaterThan(0)
    expect(keptEvents.every((e) => e.state === 'delivered')).toBe(true)
    expect((await t.call('GET', `/webhooks/${kept}/attempts`)).json.total).toBe(keptEvents.length)
    expect(await dispatcher.runOnce()).toEqual({ sent: 0 })
  })

  test('a dead or hanging receiver does not hold up a healthy one', async () => {
    const healthy = receiver()
    const hanging = receiver(() => 'hang')
    stops.push(healthy.stop, hanging.stop)
    await t.call('POST', '/webhooks', { body: { url: healthy.url } })
    await t.call('POST', '/webhooks', { body: { url: hanging.url } })
    await t.call('POST', '/webhooks', { body: { url: 'http://127.0.0.1:9/refused' } })
    await t.call('POST', '/deliveries', { body: deliveryBody() }) // one event per subscription: the creation
    const dispatcher = createDispatcher(t.db, silentLogger, { timeoutMs: 300, pollMs: 20 })
    dispatcher.start()
    try {
      for (let i = 0; i < 300 && healthy.received.length === 0; i++) await Bun.sleep(10)
      expect(healthy.received).toHaveLength(1)
    } finally {
      await dispatcher.stop()
    }
    const states = await t.db
      .select({ url: webhookSubscriptions.url, state: webhookEvents.state, error: webhookEvents.lastError })
      .from(webhookEvents)
      .innerJoin(webhookSubscriptions, eq(webhookSubscriptions.id, webhookEvents.subscriptionId))
    const byUrl = Object.fromEntries(states.map((s) => [s.url, s]))
    expect(byUrl[healthy.url]!.state).toBe('delivered')
    expect(byUrl[hanging.url]!.state).toBe('pending')
    expect(byUrl[hanging.url]!.error).toBe('timeout')
    expect(byUrl['http://127.0.0.1:9/refused']!.state).toBe('pending')
    expect(byUrl['http://127.0.0.1:9/refused']!.error).toBe('connection-refused')
  })
})

describe('the queue statistics', () => {
  const analyzed = (lines: { msg: string }[]) => lines.filter((l) => l.msg === 'webhook queue analyzed after a slow claim').length

  test('a slow claim has the queue analyzed, at most once per analyzeIntervalMs (5 s) per replica, then again; fast claims never', async () => {
    const r = receiver()
    stops.push(r.stop)
    await t.call('POST', '/webhooks', { body: { url: r.url } })
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    const fast = capturingLogger()
    expect(await createDispatcher(t.db, fast.logger).runOnce()).toEqual({ sent: 1 })
    expect(analyzed(fast.lines)).toBe(0)

    // Every claim counts as slow: the first one analyzes, the next ones within the minute do not.
    const slow = capturingLogger()
    const dispatcher = createDispatcher(t.db, slow.logger, { slowClaimMs: -1 })
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    expect(await dispatcher.runOnce()).toEqual({ sent: 1 })
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    expect(await dispatcher.runOnce()).toEqual({ sent: 1 })
    await dispatcher.stop()
    expect(analyzed(slow.lines)).toBe(1)

    // Once the interval is over, a slow claim analyzes again: a burst landing soon after the last
    // ANALYZE does not keep a stale plan for long (it was a minute: two replicas crawled meanwhile).
    const again = capturingLogger()
    const soon = createDispatcher(t.db, again.logger, { slowClaimMs: -1, analyzeIntervalMs: 100 })
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    expect(await soon.runOnce()).toEqual({ sent: 1 })
    await Bun.sleep(150)
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    expect(await soon.runOnce()).toEqual({ sent: 1 })
    await soon.stop()
    // At least once more (each runOnce ends with an empty claim, which analyzes too when a slow machine took 100 ms).
    expect(analyzed(again.lines)).toBeGreaterThanOrEqual(2)
    expect(r.received).toHaveLength(5)
  })

  testOnPostgres(
    'a burst after the queue was analyzed empty: the claim keeps its plan (no step reads the whole queue) and every event goes out once',
    async () => {
      const r = receiver()
      stops.push(r.stop)
      await t.call('POST', '/webhooks', { body: { url: r.url } })
      // The queue as autovacuum last saw it: everything delivered.
      const burst = (n: number, state: string) =>
        t.db.execute(sql`
        insert into webhook_events (subscription_id, delivery_id, payload, state)
        select s.id, gen_random_uuid(), '{}', ${state} from webhook_subscriptions s, generate_series(1, ${n})`)
      await burst(1_000, 'delivered')
      await t.db.execute(sql`analyze webhook_events`)
      // Then a tick's burst. On these statistics every partial (pending) index looks empty: a claim
      // that looked each candidate's predecessors up through one read the subscription's whole
      // queue for each (70 ms a claim of 32 here, 400 ms at 50 000).
      await burst(10_000, 'pending')
      const plan = async () => {
        const statement = claimStatement(
          { room: 128, perSubscription: 32, perClient: 64, busySubscriptions: new Map(), busyClients: new Map(), after: null },
          new Date(),
          60_000,
        )
        const rows = await queryRows<{ 'QUERY PLAN': string }>(t.db, sql`explain (costs off) ${statement}`)
        return rows.map((row) => row['QUERY PLAN'])
      }
      // On these statistics the queue is read through its indexes only: each subscription's due events,
      // each candidate's predecessors by delivery, the chosen events locked by id.
      const lines = await plan()
      const text = lines.join('\n')
      expect(text).not.toMatch(/Seq Scan on webhook_events/)
      expect(new Set(text.match(/webhook_events_\w+_idx|webhook_events_pkey/g))).toEqual(
        new Set(['webhook_events_subscription_due_idx', 'webhook_events_delivery_idx', 'webhook_events_pkey']),
      )
      expect(lines.find((l) => l.includes(' on webhook_events p'))).toContain('webhook_events_delivery_idx')
      expect(await createDispatcher(t.db, silentLogger).runOnce()).toEqual({ sent: 10_000 })
      expect(new Set(r.received.map((x) => x.id)).size).toBe(10_000)
    },
    60_000,
  )
})
