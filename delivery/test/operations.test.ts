/**
 * Operations: database outages answer 503 `database-unavailable`, error logs carry no SQL or
 * parameters, liveness/readiness, Prometheus metrics, and re-sending given-up webhook events.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createTestDatabase } from '@logistics/testkit/databases'
import { callApp } from '@logistics/testkit/http'
import { capturingLogger } from '@logistics/testkit/logging'
import { asc, eq, sql } from 'drizzle-orm'
import { createApp } from '../src/app'
import type { DeliveryConfig } from '../src/config'
import { type DeliveryDb, migrationsFolder, schema } from '../src/db'
import { webhookEvents, webhookSubscriptions } from '../src/db/schema'
import { provisionApiClients } from '../src/modules/auth/service'
import { createDeliveryMetrics } from '../src/modules/metrics/service'
import { advanceDeliveries } from '../src/modules/transitions/tick'
import { createDispatcher } from '../src/modules/webhooks/dispatcher'
import { deliveryBody, KEY_A, KEY_B, testConfig } from './helpers'

async function setup(options: { config?: DeliveryConfig } = {}) {
  const database = await createTestDatabase({ service: 'delivery', schema, migrationsFolder })
  const db = database.db as DeliveryDb
  await provisionApiClients(db, [
    ['a', KEY_A],
    ['b', KEY_B],
  ])
  const { logger, lines } = capturingLogger()
  const metrics = createDeliveryMetrics(db)
  const app = createApp({ db, config: options.config ?? testConfig(), logger, metrics })
  const call = (method: string, path: string, o: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {}) => {
    const key = o.key === undefined ? KEY_A : o.key
    return callApp(app, method, path, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...o.headers }, body: o.body })
  }
  return { database, db, app, call, lines, metrics, logger }
}

describe('a database that does not answer', () => {
  test('every route answers 503 database-unavailable with Retry-After; liveness stays 200', async () => {
    const t = await setup()
    expect((await t.call('GET', '/health')).status).toBe(200)
    expect((await t.call('GET', '/deliveries')).status).toBe(200) // caches client A's key
    await t.database.close()
    for (const [method, path, body] of [
      ['GET', '/health'],
      ['GET', '/deliveries'],
      ['POST', '/deliveries', deliveryBody()],
      ['GET', '/deliveries/LGX-UNKNOWN'],
      ['POST', '/webhooks', { url: 'https://hooks.example.test/x' }],
    ] as const) {
      const r = await t.call(method, path, { body, key: path === '/health' ? null : KEY_A })
      expect({ path, status: r.status, code: r.json?.code }).toEqual({ path, status: 503, code: 'database-unavailable' })
      expect(r.headers.get('content-type')).toContain('application/problem+json')
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
    }
    // A key not yet cached needs the database too: still a 503, not a 500 or a 401.
    expect((await t.call('GET', '/deliveries', { key: KEY_B })).status).toBe(503)
    const live = await t.call('GET', '/health/live')
    expect(live.status).toBe(200)
    expect(live.json).toEqual({ status: 'ok' })
    expect(t.lines.filter((l) => l.level === 'error')).toEqual([])
  })
})

describe('error logs', () => {
  test('a failed query logs its class, SQLSTATE, table, request id and route template; never its SQL or parameters', async () => {
    const t = await setup()
    await t.db.execute(sql`alter table webhook_subscriptions rename to webhook_subscriptions_gone`)
    const marker = `https://leak-${crypto.randomUUID()}.example.test/hook`
    const r = await t.call('POST', '/webhooks', { body: { url: marker }, headers: { 'x-request-id': 'req-check-1' } })
    expect(r.status).toBe(500)
    expect(r.text).not.toContain('leak-')
    const errors = t.lines.filter((l) => l.level === 'error')
    expect(errors).toHaveLength(1)
    const line = JSON.stringify(errors[0])
    expect(errors[0]).toMatchObject({ request_id: 'req-check-1', route: '/webhooks', error: { sqlstate: '42P01' } })
    expect((errors[0]!.error as { class: string }).class).toContain('DrizzleQueryError')
    expect(line).not.toContain('leak-') // the bound parameter
    expect(line).not.toMatch(/insert into|webhook_subscriptions"? \(/i) // the SQL text
    expect(line).not.toContain('params:')
    await t.db.execute(sql`alter table webhook_subscriptions_gone rename to webhook_subscriptions`)
    await t.database.close()
  })
})

describe('health', () => {
  let t: Awaited<ReturnType<typeof setup>>
  beforeAll(async () => {
    t = await setup()
  })
  afterAll(() => t.database.close())

  test('readiness reports the age of the oldest pending webhook event, null when none', async () => {
    const empty = await t.call('GET', '/health', { key: null })
    expect(empty.status).toBe(200)
    expect(empty.json).toEqual({ status: 'ok', oldest_pending_webhook_age_seconds: null, disabled_webhooks: 0 })
    const hook = await t.call('POST', '/webhooks', { body: { url: 'https://hooks.example.test/health' } })
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    await advanceDeliveries(t.db, { now: new Date(Date.now() - 120_000) })
    const r = await t.call('GET', '/health', { key: null })
    expect(r.status).toBe(200)
    expect(r.json.oldest_pending_webhook_age_seconds).toBeGreaterThanOrEqual(119)
    // A disabled endpoint is counted.
    await t.db.update(webhookSubscriptions).set({ disabledAt: new Date() }).where(eq(webhookSubscriptions.id, hook.json.id))
    expect((await t.call('GET', '/health', { key: null })).json.disabled_webhooks).toBe(1)
  })
})

describe('metrics', () => {
  test('Prometheus text with route templates, tick-free outbox gauges and attempts by outcome; one registry per app', async () => {
    const t = await setup()
    const other = createApp({ db: t.db, config: testConfig(), logger: t.logger }) // a second app in one process: no "already registered"
    expect((await callApp(other, 'GET', '/metrics')).status).toBe(200)
    const created = await t.call('POST', '/deliveries', { body: deliveryBody() })
    for (let i = 0; i < 3; i++) await t.call('GET', `/deliveries/${created.json.tracking_number}`)
    await t.call('GET', `/deliveries/LGX-${crypto.randomUUID()}`)
    await t.call('GET', `/no/such/${crypto.randomUUID()}`)
    const receiver = Bun.serve({ port: 0, fetch: () => new Response(null, { status: 204 }) })
    await t.call('POST', '/webhooks', { body: { url: `http://127.0.0.1:${receiver.port}/hook` } })
    await advanceDeliveries(t.db, { now: new Date(Date.now() - 60_000) })
    await advanceDeliveries(t.db, { now: new Date(Date.now() - 30_000) })
    await createDispatcher(t.db, t.logger, { onAttempt: t.metrics.attempt }).runOnce()
    receiver.stop(true)

    // Request durations are recorded after each response is sent: scrape until the last one shows.
    let r = await t.call('GET', '/metrics', { key: null })
    for (let i = 0; i < 40 && !r.text.includes('route="/webhooks",status="201"'); i++) {
      await Bun.sleep(25)
      r = await t.call('GET', '/metrics', { key: null })
    }
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toContain('text/plain')
    const text = r.text
    expect(text).toMatch(
      /http_request_duration_seconds_count\{[^}]*method="GET",route="\/deliveries\/:tracking_number",status="200"[^}]*\} 3/,
    )
    expect(text).toMatch(/route="\/deliveries\/:tracking_number",status="404"/)
    expect(text).toMatch(/route="unmatched",status="404"/)
    expect(text).not.toContain('/no/such') // raw paths never become labels
    expect(text).not.toContain(created.json.tracking_number)
    expect(text).toMatch(/delivery_webhook_attempts_total\{[^}]*outcome="delivered"[^}]*\} 2/)
    expect(text).toMatch(/delivery_webhook_events_pending\{[^}]*\} 0/)
    expect(text).toMatch(/delivery_webhook_oldest_pending_age_seconds\{[^}]*\} 0/)
    expect(text).toMatch(/delivery_webhook_endpoints_disabled\{[^}]*\} 0/)
    expect(text).toContain('delivery_tick_duration_seconds')
    await t.database.close()
  })

  test('METRICS_TOKEN: 401 problem+json without it or with a wrong one; production without a token: 404', async () => {
    const t = await setup({ config: { ...testConfig({ METRICS_TOKEN: 'metrics-token-0123456789' }), NODE_ENV: 'production' } })
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', 'Basic bWV0cmljcw==']) {
      const r = await t.call('GET', '/metrics', { key: null, headers: authorization ? { authorization } : {} })
      expect(r.status).toBe(401)
      expect(r.headers.get('content-type')).toContain('application/problem+json')
    }
    const ok = await t.call('GET', '/metrics', { key: null, headers: { authorization: 'Bearer metrics-token-0123456789' } })
    expect(ok.status).toBe(200)
    expect(ok.text).toContain('http_request_duration_seconds')
    const off = createApp({ db: t.db, config: { ...testConfig(), NODE_ENV: 'production' }, logger: t.logger })
    const r = await callApp(off, 'GET', '/metrics')
    expect(r.status).toBe(404)
    expect(r.headers.get('content-type')).toContain('application/problem+json')
    await t.database.close()
  })
})

describe('POST /webhooks/{id}/recover', () => {
  test('re-queues the given-up events since a date, in order, once each; pending ones untouched', async () => {
    const t = await setup()
    let failing = true
    const received: string[] = []
    const receiver = Bun.serve({
      port: 0,
      fetch(req) {
        if (failing) return new Response('down', { status: 500 })
        received.push(req.headers.get('webhook-id')!)
        return new Response(null, { status: 204 })
      },
    })
    const hook = await t.call('POST', '/webhooks', { body: { url: `http://127.0.0.1:${receiver.port}/hook` } })
    const id = hook.json.id as string
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    // Only the status changes of two days ago matter here, not the new delivery's first status (sent now).
    await t.db.delete(webhookEvents)
    const base = Date.now() - 2 * 86_400_000
    for (let i = 0; i < 3; i++) await advanceDeliveries(t.db, { now: new Date(base + i * 30_000), seed: 0.5 })
    // Three events, each failing past the give-up window: given up. After a failure only one probe
    // at a time goes to the endpoint, after its backoff: the dispatcher's clock moves past it.
    let now = Date.now()
    const dispatcher = createDispatcher(t.db, t.logger, { giveUpAfterMs: 1_000, now: () => new Date(now) })
    for (let i = 0; i < 3; i++) {
      await dispatcher.runOnce()
      now += 10 * 60_000
    }
    const failed = await t.db.select().from(webhookEvents).where(eq(webhookEvents.state, 'failed')).orderBy(asc(webhookEvents.seq))
    expect(failed).toHaveLength(3)
    // Another delivery's event, still pending (not yet attempted).
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    await advanceDeliveries(t.db, { now: new Date(base + 90_000), seed: 0.5 })
    const pendingBefore = await t.db.select().from(webhookEvents).where(eq(webhookEvents.state, 'pending')).orderBy(asc(webhookEvents.seq))
    expect(pendingBefore.length).toBeGreaterThan(0)

    // Validation and ownership.
    expect((await t.call('POST', `/webhooks/${id}/recover`, { body: { since: 'yesterday' } })).status).toBe(422)
    expect((await t.call('POST', `/webhooks/${id}/recover`, { body: { since: '2026-02-31T00:00:00Z' } })).status).toBe(422)
    expect((await t.call('POST', `/webhooks/${id}/recover`, { body: {} })).status).toBe(422)
    expect((await t.call('POST', `/webhooks/${id}/recover`, { key: KEY_B, body: { since: new Date(0).toISOString() } })).status).toBe(404)
    expect((await t.call('POST', `/webhooks/${id}/recover`, { key: null, body: { since: new Date(0).toISOString() } })).status).toBe(401)
    const future = await t.call('POST', `/webhooks/${id}/recover`, { body: { since: new Date(Date.now() + 86_400_000).toISOString() } })
    expect(future.status).toBe(202)
    expect(future.json).toEqual({ recovered: 0 })
    // Since after the first event: only the later two.
    const partial = await t.call('POST', `/webhooks/${id}/recover`, { body: { since: new Date(base + 15_000).toISOString() } })
    expect(partial.status).toBe(202)
    expect(partial.json).toEqual({ recovered: 2 })
    const all = await t.call('POST', `/webhooks/${id}/recover`, { body: { since: new Date(base - 1000).toISOString() } })
    expect(all.json).toEqual({ recovered: 1 })
    // Once each: again, nothing (and still one row per event).
    const again = await t.call('POST', `/webhooks/${id}/recover`, { body: { since: new Date(base - 1000).toISOString() } })
    expect(again.json).toEqual({ recovered: 0 })
    const pendingAfter = await t.db.select().from(webhookEvents).where(eq(webhookEvents.state, 'pending')).orderBy(asc(webhookEvents.seq))
    expect(pendingAfter.filter((e) => pendingBefore.some((p) => p.id === e.id))).toEqual(pendingBefore)
    expect(pendingAfter).toHaveLength(pendingBefore.length + 3)

    // Sent now, in their original order, then the pending one; the attempt log shows it all.
    failing = false
    now += 10 * 60_000
    await dispatcher.runOnce()
    const failedIds = failed.map((e) => e.id)
    expect(received.filter((id) => failedIds.includes(id))).toEqual(failedIds)
    expect(received.toSorted()).toEqual([...failedIds, ...pendingBefore.map((e) => e.id)].toSorted())
    const states = await t.db.select({ state: webhookEvents.state }).from(webhookEvents)
    expect(states.every((s) => s.state === 'delivered')).toBe(true)
    const attempts = await t.call('GET', `/webhooks/${id}/attempts?limit=100`)
    expect(attempts.json.total).toBe(3 + 3 + pendingBefore.length)
    expect(attempts.json.data.filter((a: { status_code: number }) => a.status_code === 204)).toHaveLength(3 + pendingBefore.length)
    receiver.stop(true)
    await t.database.close()
  })

  test('a recovered event gets a new give-up window', async () => {
    const t = await setup()
    const receiver = Bun.serve({ port: 0, fetch: () => new Response('down', { status: 503 }) })
    const hook = await t.call('POST', '/webhooks', { body: { url: `http://127.0.0.1:${receiver.port}/hook` } })
    await t.call('POST', '/deliveries', { body: deliveryBody() })
    await t.db.delete(webhookEvents) // its first status, sent now: only the one of two days ago matters here
    await advanceDeliveries(t.db, { now: new Date(Date.now() - 2 * 86_400_000) })
    let now = Date.now()
    const dispatcher = createDispatcher(t.db, t.logger, { now: () => new Date(now) })
    await dispatcher.runOnce() // 24 h window: given up at once
    const r = await t.call('POST', `/webhooks/${hook.json.id}/recover`, { body: { since: '2000-01-01T00:00:00.000Z' } })
    expect(r.json).toEqual({ recovered: 1 })
    now += 10 * 60_000 // past the failing endpoint's backoff: its next probe
    await dispatcher.runOnce() // fails again, but within its new window: retried later
    const [event] = await t.db.select().from(webhookEvents)
    expect(event!.state).toBe('pending')
    expect(event!.attempts).toBe(1)
    receiver.stop(true)
    await t.database.close()
  })
})
