/**
 * Processed-webhook retention: webhook ids older than WEBHOOK_RETENTION_DAYS are purged in small
 * batches through the received_at index, and an event replayed after its id was forgotten changes
 * nothing (the status progression refuses it).
 */
import { describe, expect, test } from 'bun:test'
import { webhookHeaders } from '@logistics/shared'
import { queryRows } from '@logistics/shared/db'
import { eq, sql } from 'drizzle-orm'
import { orderEvents, processedWebhooks } from '../src/db/schema'
import { deleteExpiredProcessedWebhooks } from '../src/modules/delivery-webhooks/retention'
import { harnessOnStub } from './helpers'

const { h } = await harnessOnStub()
const admin = await h.adminToken()

const DAY = 24 * 60 * 60_000
const ids = async () => (await h.db.select({ id: processedWebhooks.webhookId }).from(processedWebhooks)).map((r) => r.id).sort()

/** Records `n` webhook ids received `daysAgo` days ago. */
async function received(prefix: string, n: number, daysAgo: number) {
  const at = new Date(Date.now() - daysAgo * DAY)
  await h.db.insert(processedWebhooks).values(Array.from({ length: n }, (_, i) => ({ webhookId: `${prefix}-${i}`, receivedAt: at })))
}

describe('deleteExpiredProcessedWebhooks', () => {
  test('deletes only ids older than the retention, in batches, at most maxBatches a call', async () => {
    await h.db.delete(processedWebhooks)
    await received('old', 7, 31)
    await received('edge', 2, 29)
    await received('new', 3, 0)
    expect(await deleteExpiredProcessedWebhooks(h.db, { retentionDays: 30, batchSize: 2, maxBatches: 2 })).toBe(4)
    expect(await deleteExpiredProcessedWebhooks(h.db, { retentionDays: 30, batchSize: 2 })).toBe(3)
    expect(await ids()).toEqual(['edge-0', 'edge-1', 'new-0', 'new-1', 'new-2'])
    expect(await deleteExpiredProcessedWebhooks(h.db, { retentionDays: 30 })).toBe(0)
    expect(await deleteExpiredProcessedWebhooks(h.db, { retentionDays: 1 })).toBe(2)
    expect(await ids()).toEqual(['new-0', 'new-1', 'new-2'])
  })

  test('the batch query reads the received_at index (no scan of the whole table)', async () => {
    const plan = await h.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`)
      return queryRows<Record<string, string>>(
        tx,
        sql`explain select webhook_id from processed_webhooks where received_at < now() - interval '30 days' limit 1000`,
      )
    })
    expect(plan.map((row) => Object.values(row)[0]).join('\n')).toContain('processed_webhooks_received_idx')
  })
})

describe('an event replayed after its id was forgotten', () => {
  test('changes nothing: an earlier status, an older date in the loop, anything after DELIVERED (204 each)', async () => {
    const seller = await h.seller('Replay', admin)
    const product = await h.product(seller.token, 'Replay-1', 5)
    const customer = await h.customer()
    const orderId = (await h.buy(customer.token, [{ product_id: product.id, quantity: 1 }])).body.orders[0].id as string
    await h.request('POST', `/orders/${orderId}/confirm`, { token: seller.token })
    const tn = (await h.request('POST', `/orders/${orderId}/dispatch`, { token: seller.token })).body.delivery.tracking_number
    const base = Date.now() - 60 * 60_000
    const events = (
      [
        ['READY_FOR_PICK_UP', 0],
        ['IN_ORIGIN', 1],
        ['IN_ROUTE_OF_DELIVERY', 2],
        ['NOT_DELIVERED', 3],
        ['IN_ROUTE_OF_DELIVERY', 4],
      ] as const
    ).map(([status, minute], i) => ({
      id: `msg_replay_${i}`,
      body: JSON.stringify({
        type: 'delivery.status_changed',
        timestamp: new Date().toISOString(),
        data: {
          tracking_number: tn,
          foreign_order_id: orderId,
          status,
          previous_status: null,
          date: new Date(base + minute * 60_000).toISOString(),
        },
      }),
    }))
    const send = (e: { id: string; body: string }) =>
      h.request('POST', '/webhooks/delivery', {
        rawBody: e.body,
        headers: { 'content-type': 'application/json', ...webhookHeaders(h.config.WEBHOOK_SECRET, e.id, e.body) },
      })
    const view = async () => (await h.request('GET', `/orders/${orderId}`, { token: admin })).body
    for (const e of events) expect((await send(e)).status).toBe(204)
    expect((await view()).delivery.status).toBe('IN_ROUTE_OF_DELIVERY')

    const forgetAll = async () => {
      await h.db
        .update(processedWebhooks)
        .set({ receivedAt: new Date(Date.now() - 40 * DAY) })
        .where(sql`${processedWebhooks.webhookId} like 'msg_replay_%'`)
      expect(await deleteExpiredProcessedWebhooks(h.db, { retentionDays: 30 })).toBeGreaterThanOrEqual(1)
    }
    await forgetAll()
    // Every earlier event again, ids forgotten: an earlier stage, or an older date within the loop.
    for (const e of events.slice(0, 4)) expect((await send(e)).status).toBe(204)
    expect((await view()).delivery.status).toBe('IN_ROUTE_OF_DELIVERY')

    const delivered = {
      id: 'msg_replay_delivered',
      body: events[4]!.body.replace('"IN_ROUTE_OF_DELIVERY"', '"DELIVERED"'),
    }
    expect((await send(delivered)).status).toBe(204)
    await forgetAll()
    for (const e of [...events, delivered]) expect((await send(e)).status).toBe(204)
    expect(await view()).toMatchObject({ status: 'delivered', delivery: { status: 'DELIVERED' } })
    const history = await h.db.select().from(orderEvents).where(eq(orderEvents.orderId, orderId))
    expect(history.map((e) => e.status)).toEqual(['created', 'confirmed', 'dispatched', 'delivered'])
  })
})
