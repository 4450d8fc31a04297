/**
 * A stateful, concurrent model test of the order lifecycle (fast-check commands + scheduler) against
 * both services in one process: random steps of purchase, confirm, dispatch (also double and
 * triple), cancel (customer and admin), delivery ticks with their webhooks (some sent twice), and
 * delivery-service outages (refused connections, 500s, lost answers, requests landing late). Each
 * step runs 1–3 operations at once; the scheduler picks the order in which they start and in which
 * their calls reach the delivery service.
 *
 * After each run, once the dangling-delivery clean-up rule has been applied (every lease runs out,
 * late requests land; a confirmed order on which a dispatch was attempted is cancelled — which
 * withdraws the delivery the attempt left — or, when that parcel was already picked up,
 * dispatched again, which adopts it; a cancel that got no answer (503/504) is repeated, as its
 * withdrawal may have landed late), the invariants are:
 *  - stock = initial − sold + restocked;
 *  - every dispatched/delivered order has exactly its one live delivery on the delivery service,
 *    every created/confirmed/cancelled one has none;
 *  - every order's history is a path of the lifecycle (no step back, none twice: no event applied twice).
 *
 * Real PostgreSQL only: concurrent transactions are the point, and PGlite runs one at a time.
 */
import { afterAll, beforeAll, describe, expect } from 'bun:test'
import { onRealPostgres, testOnPostgres } from '@logistics/testkit/databases'
import fc from 'fast-check'
import { createSystem, type Fault, type System } from './in-process'

const NUM_RUNS = Number(process.env.MODEL_RUNS ?? 25)
const INITIAL_STOCK = 8

// Needs concurrent transactions, which PGlite runs one at a time: PostgreSQL only.

type Op =
  | { kind: 'buy'; customer: number; qty: number; confirm: boolean }
  | { kind: 'confirm'; order: number }
  | { kind: 'dispatch'; order: number; copies: number }
  | { kind: 'cancel'; order: number; by: 'admin' | 'customer' }
  | { kind: 'tick'; replay: number }
  | { kind: 'fault'; fault: Fault | 'none'; on: 'create' | 'delete' | 'all' }
  | { kind: 'release-held' }

const label = (op: Op) => JSON.stringify(op)

type Run = {
  sys: System
  s: fc.Scheduler
  seller: { token: string }
  customers: { token: string }[]
  productId: string
  orders: { id: string; customer: number; qty: number }[]
  sold: number
  restocked: number
  /** Orders whose cancel got no answer in time (503/504): the withdrawal may land late. */
  unansweredCancels: Set<string>
}

type Model = { steps: number }

const OK: Record<Op['kind'], number[]> = {
  buy: [201, 409],
  confirm: [200, 409],
  dispatch: [200, 409, 502, 503, 504],
  cancel: [200, 409, 502, 503, 504],
  tick: [],
  fault: [],
  'release-held': [],
}

const seen = new Map<string, number>()
function expectStatus(op: Op, r: { status: number; text: string; body?: any }) {
  const key = `${op.kind} ${r.status} ${r.body?.code ?? ''}`
  seen.set(key, (seen.get(key) ?? 0) + 1)
  if (!OK[op.kind].includes(r.status)) throw new Error(`${label(op)} answered ${r.status}: ${r.text}`)
}

async function runOp(run: Run, op: Op): Promise<void> {
  const { sys } = run
  // Recent orders are picked most (so orders get through their whole lifecycle).
  const order = 'order' in op && run.orders.length ? run.orders[run.orders.length - 1 - (op.order % run.orders.length)] : undefined
  switch (op.kind) {
    case 'buy': {
      const r = await sys.shop.buy(run.customers[op.customer]!.token, [{ product_id: run.productId, quantity: op.qty }])
      expectStatus(op, r)
      if (r.status === 201) {
        const id = r.body.orders[0].id
        run.orders.push({ id, customer: op.customer, qty: op.qty })
        run.sold += op.qty
        if (op.confirm)
          expectStatus({ kind: 'confirm', order: 0 }, await sys.shop.request('POST', `/orders/${id}/confirm`, { token: run.seller.token }))
      }
      return
    }
    case 'confirm': {
      if (!order) return
      expectStatus(op, await sys.shop.request('POST', `/orders/${order.id}/confirm`, { token: run.seller.token }))
      return
    }
    case 'dispatch': {
      if (!order) return
      const answers = await Promise.all(
        Array.from({ length: op.copies }, () => sys.shop.request('POST', `/orders/${order.id}/dispatch`, { token: run.seller.token })),
      )
      for (const r of answers) {
        expectStatus(op, r)
        if (r.status === 200 && !r.body.delivery.tracking_number) throw new Error(`dispatch answered 200 without a delivery: ${r.text}`)
      }
      return
    }
    case 'cancel': {
      if (!order) return
      const token = op.by === 'admin' ? sys.admin : run.customers[order.customer]!.token
      const r = await sys.shop.request('POST', `/orders/${order.id}/cancel`, { token })
      expectStatus(op, r)
      if (r.status === 200) run.restocked += order.qty
      if (r.status === 503 || r.status === 504) run.unansweredCancels.add(order.id)
      return
    }
    case 'tick':
      await sys.tick()
      await sys.pumpWebhooks({ replay: op.replay })
      return
    case 'fault': {
      const applies = (method: string, path: string) =>
        op.on === 'all' || (op.on === 'create' ? method === 'POST' && path === '/deliveries' : method === 'DELETE')
      sys.setPlan(op.fault === 'none' ? () => undefined : (method, path) => (applies(method, path) ? (op.fault as Fault) : undefined))
      return
    }
    case 'release-held':
      await sys.releaseHeld()
      return
  }
}

/** One step: its operations run at once; the scheduler decides when each starts. */
class Step implements fc.AsyncCommand<Model, Run> {
  constructor(readonly ops: Op[]) {}
  check = () => true
  async run(model: Model, run: Run) {
    model.steps++
    const started = this.ops.map((op) => run.s.schedule(Promise.resolve(), `start ${label(op)}`).then(() => runOp(run, op)))
    await run.s.waitFor(Promise.all(started))
  }
  toString = () => `Step(${this.ops.map(label).join(' | ')})`
}

const pick = fc.oneof(fc.constant(0), fc.nat({ max: 5 }))
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('buy' as const),
      customer: fc.nat({ max: 1 }),
      qty: fc.integer({ min: 1, max: 3 }),
      confirm: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('confirm' as const), order: pick }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('dispatch' as const), order: pick, copies: fc.integer({ min: 1, max: 3 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('cancel' as const), order: pick, by: fc.constantFrom('admin' as const, 'customer' as const) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), replay: fc.nat({ max: 2 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('fault' as const),
      fault: fc.constantFrom<Fault | 'none'>('none', 'none', 'down', 'error', 'lost-answer', 'held'),
      on: fc.constantFrom('create' as const, 'delete' as const, 'all' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'release-held' as const }) },
)
const stepArb = fc.array(opArb, { minLength: 1, maxLength: 3 }).map((ops) => new Step(ops))

const NEXT: Record<string, string[]> = {
  created: ['confirmed', 'cancelled'],
  confirmed: ['dispatched', 'cancelled'],
  dispatched: ['delivered', 'cancelled'],
  delivered: [],
  cancelled: [],
}

let sys: System
beforeAll(async () => {
  if (onRealPostgres) sys = await createSystem()
}, 60_000)
afterAll(async () => {
  if (process.env.MODEL_STATS) console.log(Object.fromEntries([...seen].sort()))
  await sys?.close()
}, 60_000)

describe('order lifecycle model', () => {
  testOnPostgres(
    'random concurrent interleavings keep stock, deliveries and histories consistent',
    async () => {
      let runNo = 0
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), fc.commands([stepArb], { maxCommands: 12, size: '+1' }), async (s, steps) => {
          runNo++
          const seller = await sys.shop.seller(`Model${runNo}`, sys.admin)
          const product = await sys.shop.product(seller.token, `MODEL-${runNo}-${crypto.randomUUID().slice(0, 6)}`, INITIAL_STOCK)
          const run: Run = {
            sys,
            s,
            seller,
            customers: [await sys.shop.customer('Mia'), await sys.shop.customer('Noe')],
            productId: product.id,
            orders: [],
            sold: 0,
            restocked: 0,
            unansweredCancels: new Set(),
          }
          // Every call to the delivery service waits for the scheduler: it decides their order.
          sys.onCall((method, path) => s.schedule(Promise.resolve(), `${method} ${path}`))
          try {
            await fc.asyncModelRun(() => ({ model: { steps: 0 }, real: run }), steps)
          } finally {
            sys.healthy()
          }
          await settle(run)
          await checkInvariants(run)
        }),
        { numRuns: NUM_RUNS, endOnFailure: true, interruptAfterTimeLimit: 60_000 },
      )
    },
    180_000,
  )
})

/** The clean-up rule for dangling deliveries (see the top of the file). */
async function settle(run: Run) {
  const { sys } = run
  await sys.releaseHeld()
  for (const o of run.orders) await sys.leasesRunOut(o.id)
  for (const o of run.orders) {
    const row = await sys.orderRow(o.id)
    // A cancel that got no answer may have withdrawn the parcel after all: the canceller repeats it
    // (a delivery already gone counts as withdrawn; a picked-up one answers 409).
    if (row.status === 'dispatched' && run.unansweredCancels.has(o.id)) {
      const again = await sys.shop.request('POST', `/orders/${o.id}/cancel`, { token: sys.admin })
      if (again.status === 200) run.restocked += o.qty
      else if (again.status !== 409) throw new Error(`repeated cancel answered ${again.status}: ${again.text}`)
      continue
    }
    if (row.status !== 'confirmed' || !row.dispatchAttemptedAt) continue
    const cancel = await sys.shop.request('POST', `/orders/${o.id}/cancel`, { token: sys.admin })
    if (cancel.status === 200) {
      run.restocked += o.qty
      continue
    }
    if (cancel.status !== 409 || cancel.body.code !== 'already-picked-up')
      throw new Error(`clean-up cancel answered ${cancel.status}: ${cancel.text}`)
    const dispatch = await sys.shop.request('POST', `/orders/${o.id}/dispatch`, { token: run.seller.token })
    if (dispatch.status !== 200) throw new Error(`clean-up dispatch answered ${dispatch.status}: ${dispatch.text}`)
  }
}

async function checkInvariants(run: Run) {
  const { sys } = run
  expect(await sys.shop.stock(run.productId)).toBe(INITIAL_STOCK - run.sold + run.restocked)
  for (const o of run.orders) {
    const row = await sys.orderRow(o.id)
    const live = await sys.deliveriesOf(o.id)
    const where = `order ${o.id} (${row.status}, tracking number ${row.trackingNumber})`
    if (row.status === 'dispatched' || row.status === 'delivered')
      expect({ where, live: live.map((d) => d.trackingNumber) }).toEqual({ where, live: [row.trackingNumber!] })
    else expect({ where, live: live.map((d) => d.trackingNumber) }).toEqual({ where, live: [] })
    if (row.status === 'delivered') expect(row.deliveryStatus).toBe('DELIVERED')
    const history = (await sys.shop.request('GET', `/orders/${o.id}/history`, { token: sys.admin })).body.data.map(
      (e: { status: string }) => e.status,
    ) as string[]
    expect(history[0]).toBe('created')
    for (let i = 1; i < history.length; i++)
      expect({ where, from: history[i - 1], to: history[i], ok: NEXT[history[i - 1]!]!.includes(history[i]!) }).toMatchObject({ ok: true })
    expect(history.at(-1)).toBe(row.status)
  }
}
