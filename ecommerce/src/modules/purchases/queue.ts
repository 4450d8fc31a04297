import { HttpProblem } from '@logistics/shared'
import pLimit from 'p-limit'

/** A refusal by the queue: nothing ran; `Retry-After: 1`, as a turn takes milliseconds. */
const refused = (status: 429 | 503, code: string, detail: string) => new HttpProblem(status, code, detail, {}, { 'retry-after': '1' })

export type PurchaseQueueLimits = {
  /** Purchases in the database at once (PURCHASE_CONCURRENCY). */
  concurrency: number
  /** Purchases of one customer waiting or running at once (PURCHASES_PER_CUSTOMER). */
  perCustomer: number
  /** Purchases waiting for their turn, all customers together (PURCHASE_QUEUE_LIMIT). */
  waiting: number
}

/**
 * The purchases of this replica take turns: at most `concurrency` run in the database, the others
 * wait here in arrival order (instead of on a hot product's row lock, holding a pool connection
 * that reads need). The queue is bounded, so no one can make it hold purchases for minutes:
 * - one customer has at most `perCustomer` purchases waiting or running; one more answers 429
 *   `too-many-purchases` (a single account cannot fill the queue and delay everyone else);
 * - at most `waiting` purchases wait; one more answers 503 `purchases-busy`.
 * Both carry `Retry-After` and change nothing. A slot is given back however the purchase ends.
 */
export function createPurchaseQueue(limits: PurchaseQueueLimits) {
  const inDatabase = pLimit(limits.concurrency)
  const perCustomer = new Map<string, number>()
  return {
    /** Purchases waiting for their turn (`ecommerce_purchases_waiting`). */
    get pendingCount() {
      return inDatabase.pendingCount
    },
    /** Runs `purchase` in its turn, or refuses it at once (see above). */
    async run<T>(customerId: string, purchase: () => Promise<T>): Promise<T> {
      const mine = perCustomer.get(customerId) ?? 0
      if (mine >= limits.perCustomer)
        throw refused(429, 'too-many-purchases', `You have ${mine} purchases in progress; wait for one to finish before sending another`)
      // Those that will have to wait: p-limit starts a queued purchase a microtask later.
      const waiting = Math.max(0, inDatabase.activeCount + inDatabase.pendingCount - limits.concurrency)
      if (waiting >= limits.waiting) throw refused(503, 'purchases-busy', 'Too many purchases are waiting right now; retry shortly')
      perCustomer.set(customerId, mine + 1)
      try {
        return await inDatabase(purchase)
      } finally {
        const left = perCustomer.get(customerId)! - 1
        if (left === 0) perCustomer.delete(customerId)
        else perCustomer.set(customerId, left)
      }
    },
  }
}
