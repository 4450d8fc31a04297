/**
 * An idle pair says nothing at info: every periodic job, run with nothing to do, writes at debug at
 * most (the tick, the webhook queue with its ANALYZE after a slow claim, the clean-up of idempotency
 * keys and of processed webhooks, the settlement of interrupted dispatches and cancels), and so do the health probes. Info is for news.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createTestDatabase } from '@logistics/testkit/databases'
import { callApp } from '@logistics/testkit/http'
import { capturingLogger } from '@logistics/testkit/logging'
import { createApp } from '../delivery/src/app'
import { type DeliveryDb, migrationsFolder as deliveryMigrations, schema as deliverySchema } from '../delivery/src/db'
import { scheduledTick } from '../delivery/src/modules/transitions/cron'
import { createDispatcher } from '../delivery/src/modules/webhooks/dispatcher'
import { testConfig } from '../delivery/test/helpers'
import { startProcessedWebhookCleanup } from '../ecommerce/src/modules/delivery-webhooks/retention'
import { startOrderSettlement } from '../ecommerce/src/modules/orders/cron'
import { startIdempotencyCleanup } from '../ecommerce/src/modules/purchases/cron'
import { createHarness, createStubDelivery, type Harness } from '../ecommerce/test/helpers'

const loud = (lines: { level: string }[]) => lines.filter((l) => l.level !== 'debug')

describe('the delivery service, idle', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase<typeof deliverySchema>>>
  beforeAll(async () => {
    database = await createTestDatabase({ service: 'delivery', schema: deliverySchema, migrationsFolder: deliveryMigrations })
  })
  afterAll(() => database.close())

  test('a tick with nothing to move logs at debug', async () => {
    const { logger, lines } = capturingLogger()
    await scheduledTick(database.db as DeliveryDb, 1, logger)
    await scheduledTick(database.db as DeliveryDb, 1, logger) // skipped: too soon after the last
    expect(lines.length).toBeGreaterThan(0)
    expect(loud(lines)).toEqual([])
  })

  test('the webhook queue, empty, analyzed after a "slow" claim, logs at debug', async () => {
    const { logger, lines } = capturingLogger()
    // Every claim counts as slow: the ANALYZE runs (as on a busy machine, where an idle claim took 33 ms).
    const dispatcher = createDispatcher(database.db as DeliveryDb, logger, { slowClaimMs: -1, analyzeIntervalMs: 0 })
    // (A process's first claim is never judged slow: it also fills the connection's caches.)
    expect(await dispatcher.runOnce()).toEqual({ sent: 0 })
    expect(await dispatcher.runOnce()).toEqual({ sent: 0 })
    await dispatcher.stop() // waits for the ANALYZE
    expect(lines.map((l) => l.msg)).toContain('webhook queue analyzed after a slow claim')
    expect(loud(lines)).toEqual([])
  })

  test('health probes are logged at debug', async () => {
    const { logger, lines } = capturingLogger()
    const app = createApp({ db: database.db as DeliveryDb, config: testConfig(), logger })
    for (const path of ['/health', '/health/live']) expect((await callApp(app, 'GET', path)).status).toBe(200)
    expect(lines.length).toBeGreaterThan(0)
    // (callApp's contract check fetches the app's OpenAPI document once: a request of its own, not a probe)
    expect(loud(lines).filter((l) => (l as { path?: string }).path !== '/swagger/json')).toEqual([])
  })
})

describe('the ecommerce service, idle', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness()
  })
  afterAll(() => h.close())

  test('the hourly clean-ups and the settlement of dispatches and cancels, with nothing to do, log nothing at info', async () => {
    const { logger, lines } = capturingLogger()
    const stub = createStubDelivery()
    const cleanup = startIdempotencyCleanup(h.db, logger)
    const processed = startProcessedWebhookCleanup(h.db, 30, logger)
    const settlement = startOrderSettlement(h.db, stub.client(), logger)
    try {
      await cleanup.trigger()
      await processed.trigger()
      await settlement.trigger()
    } finally {
      cleanup.stop()
      processed.stop()
      settlement.stop()
      stub.stop()
    }
    expect(loud(lines)).toEqual([])
  })
})
