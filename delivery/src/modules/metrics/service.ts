import { Counter, createRegistry, Gauge, Histogram, httpRequestMetrics } from '@logistics/shared/metrics'
import type { DeliveryDb } from '../../db'
import { pendingWebhookStats } from '../webhooks/service'

/**
 * The delivery service's metrics, in a registry of their own (one per app). The outbox gauges are
 * read on scrape with one cheap query (nothing is kept up to date on the hot path).
 */
export function createDeliveryMetrics(db: DeliveryDb) {
  const registry = createRegistry('delivery')
  const tickDuration = new Histogram({
    name: 'delivery_tick_duration_seconds',
    help: 'Duration of the status ticks that ran',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  const tickMoved = new Histogram({
    name: 'delivery_tick_moved_deliveries',
    help: 'Deliveries moved one step per tick',
    buckets: [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000],
    registers: [registry],
  })
  const attempts = new Counter({
    name: 'delivery_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome (delivered, retrying, given-up)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  // One query per scrape fills the three gauges (their collects run together); NaN when it fails.
  let stats: Promise<Awaited<ReturnType<typeof pendingWebhookStats>> | undefined> | undefined
  const read = () =>
    (stats ??= pendingWebhookStats(db)
      .catch(() => undefined)
      .finally(() => {
        stats = undefined
      }))
  new Gauge({
    name: 'delivery_webhook_events_pending',
    help: 'Webhook events not yet delivered',
    registers: [registry],
    async collect() {
      this.set((await read())?.pending ?? Number.NaN)
    },
  })
  new Gauge({
    name: 'delivery_webhook_oldest_pending_age_seconds',
    help: 'Age of the oldest pending webhook event in seconds (0 when none)',
    registers: [registry],
    async collect() {
      const s = await read()
      this.set(s ? (s.oldestAgeSeconds ?? 0) : Number.NaN)
    },
  })
  new Gauge({
    name: 'delivery_webhook_endpoints_disabled',
    help: 'Webhook endpoints disabled after their run of failures',
    registers: [registry],
    async collect() {
      this.set((await read())?.disabledEndpoints ?? Number.NaN)
    },
  })
  return {
    registry,
    observeRequest: httpRequestMetrics(registry),
    tick(seconds: number, moved: number) {
      tickDuration.observe(seconds)
      tickMoved.observe(moved)
    },
    attempt(outcome: 'delivered' | 'retrying' | 'given-up') {
      attempts.inc({ outcome })
    },
  }
}

export type DeliveryMetrics = ReturnType<typeof createDeliveryMetrics>
