import { HttpProblem } from '@logistics/shared'
import { Counter, createRegistry, Gauge, Histogram, httpRequestMetrics } from '@logistics/shared/metrics'
import type { DeliveryClient } from '../delivery-client/service'
import type { ApplyOutcome } from '../delivery-webhooks/service'

/** The ecommerce service's metrics, in a registry of their own (one per app). */
export function createEcommerceMetrics() {
  const registry = createRegistry('ecommerce')
  const purchases = new Counter({
    name: 'ecommerce_purchases_total',
    help: 'Purchases made (replays of an Idempotency-Key not counted)',
    registers: [registry],
  })
  const stockConflicts = new Counter({
    name: 'ecommerce_stock_conflicts_total',
    help: 'Purchases refused with 409 insufficient-stock',
    registers: [registry],
  })
  const purchasesRefused = new Counter({
    name: 'ecommerce_purchases_refused_total',
    help: 'Purchases refused before their turn: too-many-purchases (429, one customer over PURCHASES_PER_CUSTOMER) and purchases-busy (503, PURCHASE_QUEUE_LIMIT waiting)',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  const webhookEvents = new Counter({
    name: 'ecommerce_delivery_events_total',
    help: 'Delivery webhook events received, by outcome: applied and delivered (applied), duplicate, stale and unknown-order (ignored)',
    labelNames: ['outcome', 'result'] as const,
    registers: [registry],
  })
  const deliveryCalls = new Histogram({
    name: 'ecommerce_delivery_calls_duration_seconds',
    help: 'Calls to the delivery service by operation and outcome (ok or the problem code answered), and how long they took',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  let purchaseQueue: { readonly pendingCount: number } = { pendingCount: 0 }
  new Gauge({
    name: 'ecommerce_purchases_waiting',
    help: 'Purchases waiting in the service for their turn in the database (see PURCHASE_CONCURRENCY)',
    registers: [registry],
    collect() {
      this.set(purchaseQueue.pendingCount)
    },
  })
  const instrumented = new WeakSet<DeliveryClient>()
  return {
    registry,
    observeRequest: httpRequestMetrics(registry),
    /** Counts a purchase, a stock conflict or a refusal by the queue, as its promise settles (and passes it on). */
    async purchase<T extends { replayed: boolean }>(result: Promise<T>): Promise<T> {
      try {
        const value = await result
        if (!value.replayed) purchases.inc()
        return value
      } catch (error) {
        if (error instanceof HttpProblem && error.code === 'insufficient-stock') stockConflicts.inc()
        if (error instanceof HttpProblem && (error.code === 'too-many-purchases' || error.code === 'purchases-busy'))
          purchasesRefused.inc({ reason: error.code })
        throw error
      }
    },
    /** Reports the purchase queue's length as `ecommerce_purchases_waiting`. */
    watchPurchaseQueue(queue: { readonly pendingCount: number }) {
      purchaseQueue = queue
    },
    deliveryEvent(outcome: ApplyOutcome) {
      const applied = outcome === 'applied' || outcome === 'delivered'
      webhookEvents.inc({ outcome, result: applied ? 'applied' : 'ignored' })
    },
    /** The client with every call timed and counted by outcome. */
    instrumentDeliveryClient(client: DeliveryClient): DeliveryClient {
      if (instrumented.has(client)) return client
      const timed =
        <A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) =>
        async (...args: A): Promise<R> => {
          const end = deliveryCalls.startTimer({ operation })
          try {
            const value = await call(...args)
            end({ outcome: 'ok' })
            return value
          } catch (error) {
            end({ outcome: error instanceof HttpProblem ? error.code : 'error' })
            throw error
          }
        }
      const wrapped: DeliveryClient = {
        createDelivery: timed('create-delivery', client.createDelivery.bind(client)),
        getTracking: timed('tracking', client.getTracking.bind(client)),
        deleteDelivery: timed('delete-delivery', client.deleteDelivery.bind(client)),
        findDeliveryOfOrder: timed('find-delivery', client.findDeliveryOfOrder.bind(client)),
        registerWebhook: timed('register-webhook', client.registerWebhook.bind(client)),
      }
      instrumented.add(wrapped)
      return wrapped
    },
  }
}

export type EcommerceMetrics = ReturnType<typeof createEcommerceMetrics>
