/**
 * Stock arithmetic: whatever sequence of stock sets (PATCH, up to 1 000 000 000), purchases (the
 * place_purchase function, lines of any size) and cancels (each gives its units back), the stock is
 * never negative, no step fails, and it equals a model. Cancels always succeed: stock given back
 * beyond MAX_STOCK (2^53 − 1, unreachable in practice) is capped there.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { pgErrorCode, queryRows } from '@logistics/shared/db'
import { eq, sql } from 'drizzle-orm'
import fc from 'fast-check'
import { products } from '../src/db/schema'
import { MAX_STOCK } from '../src/modules/products/model'
import { createHarness, type Harness } from './helpers'

let h: Harness
let seller: Awaited<ReturnType<Harness['seller']>>
let customer: Awaited<ReturnType<Harness['customer']>>
beforeAll(async () => {
  h = await createHarness()
  seller = await h.seller('Stocky', await h.adminToken())
  customer = await h.customer()
})
afterAll(() => h.close())

const MAX_SET = 1_000_000_000
/** int4: what the stock column held before, and what a cancel overflowed. */
const INT4_MAX = 2 ** 31 - 1

/** A purchase of `quantity` through the place_purchase function (the API's lines are smaller; the function takes any). */
async function placePurchase(productId: string, quantity: number): Promise<string | 'short'> {
  const lines = JSON.stringify([{ product_id: productId, quantity }])
  try {
    const [row] = await queryRows<{ placed: unknown }>(h.db, sql`select place_purchase(${customer.id}, ${lines}::jsonb) as placed`)
    const placed = (typeof row!.placed === 'string' ? JSON.parse(row!.placed) : row!.placed) as { orders: { id: string }[] }
    return placed.orders[0]!.id
  } catch (error) {
    if (pgErrorCode(error) === 'LS409') return 'short'
    throw error
  }
}

/**
 * A purchase asks for a share of the stock the model expects (1: all of it; above 1: more than
 * there is): sequences then reach the extremes (full resets, sold-out products, many units out in
 * orders) where the arithmetic is at risk, as the tester's resets did.
 */
type Step = { kind: 'set'; quantity: number } | { kind: 'buy'; share: number } | { kind: 'cancel'; pick: number }

const steps = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant('set' as const),
      quantity: fc.oneof({ weight: 3, arbitrary: fc.constant(MAX_SET) }, { weight: 1, arbitrary: fc.nat(MAX_SET) }),
    }),
    fc.record({
      kind: fc.constant('buy' as const),
      share: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 1.2, noNaN: true }) }),
    }),
    fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
  ),
  { minLength: 15, maxLength: 35 },
)

describe('stock arithmetic', () => {
  test('any sequence of sets, purchases and cancels: never negative, never an error, equal to the model', async () => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(steps, async (sequence: Step[]) => {
        const product = await h.product(seller.token, `STOCK-${run++}`, 0)
        let model = 0
        const open: { id: string; quantity: number }[] = []
        for (const step of sequence) {
          if (step.kind === 'set') {
            const r = await h.request('PATCH', `/products/${product.id}`, { token: seller.token, body: { quantity: step.quantity } })
            expect(r.status).toBe(200)
            model = step.quantity
          } else if (step.kind === 'buy') {
            const quantity = Math.min(INT4_MAX, Math.max(1, Math.ceil(model * step.share))) // a line is an int4
            const placed = await placePurchase(product.id, quantity)
            expect(placed === 'short').toBe(quantity > model)
            if (placed !== 'short') {
              model -= quantity
              open.push({ id: placed, quantity })
            }
          } else if (open.length > 0) {
            const [order] = open.splice(step.pick % open.length, 1)
            const r = await h.request('POST', `/orders/${order!.id}/cancel`, { token: customer.token })
            expect({ status: r.status, code: r.body?.code }).toEqual({ status: 200, code: undefined })
            model = Math.min(MAX_STOCK, model + order!.quantity)
          }
          const stock = await h.stock(product.id)
          expect(stock).toBe(model)
          expect(stock).toBeGreaterThanOrEqual(0)
        }
      }),
      // Each step is a request or two: no shrinking (a failing sequence is printed as found).
      { numRuns: 20, endOnFailure: true },
    )
  }, 120_000)

  test('the tester’s case: resets to 1 000 000 000 and cancels pass 2^31 − 1; every cancel answers 200 and the stock adds up', async () => {
    const product = await h.product(seller.token, 'RESETS', MAX_SET)
    const bought: string[] = []
    for (let i = 0; i < 3; i++) {
      bought.push((await placePurchase(product.id, MAX_SET)) as string)
      expect((await h.request('PATCH', `/products/${product.id}`, { token: seller.token, body: { quantity: MAX_SET } })).status).toBe(200)
    }
    for (const id of bought) expect((await h.request('POST', `/orders/${id}/cancel`, { token: customer.token })).status).toBe(200)
    expect(await h.stock(product.id)).toBe(4 * MAX_SET)
    expect(4 * MAX_SET).toBeGreaterThan(INT4_MAX)
  })

  test('stock given back beyond MAX_STOCK is capped there; the cancel still succeeds', async () => {
    const product = await h.product(seller.token, 'CAPPED', 10)
    const id = (await placePurchase(product.id, 7)) as string
    await h.db
      .update(products)
      .set({ quantity: MAX_STOCK - 2 })
      .where(eq(products.id, product.id))
    expect((await h.request('POST', `/orders/${id}/cancel`, { token: customer.token })).status).toBe(200)
    expect(await h.stock(product.id)).toBe(MAX_STOCK)
    // The list reads the same number as the single read.
    const list = await h.request('GET', `/products?seller_id=${seller.id}&limit=100`)
    expect(list.body.data.find((p: { id: string }) => p.id === product.id).quantity).toBe(MAX_STOCK)
  })

  test('the API sets 0 to 1 000 000 000 (422 beyond, naming the bound)', async () => {
    const product = await h.product(seller.token, 'BOUNDS', 1)
    for (const quantity of [-1, MAX_SET + 1, 1.5]) {
      const r = await h.request('PATCH', `/products/${product.id}`, { token: seller.token, body: { quantity } })
      expect(r.status).toBe(422)
      expect(r.body.errors[0].path).toBe('quantity')
    }
  })
})
