import { describe, expect, test } from 'bun:test'
import { HttpProblem } from '@logistics/shared'
import fc from 'fast-check'
import { loadConfig } from '../src/config'
import { createPurchaseQueue } from '../src/modules/purchases/queue'

/**
 * The purchase queue alone (no database): purchases take turns, one customer cannot hold more
 * than its share, the waiting line is bounded, and a refusal runs nothing.
 */

/** A purchase the test finishes by hand. */
function pending() {
  let finish!: (ok: boolean) => void
  let started = false
  const job = () => {
    started = true
    return new Promise<string>((resolve, reject) => {
      finish = (ok) => (ok ? resolve('done') : reject(new Error('failed')))
    })
  }
  return {
    job,
    get started() {
      return started
    },
    finish: (ok = true) => finish(ok),
  }
}

const refusal = async (p: Promise<unknown>) => {
  try {
    await p
    return 'admitted'
  } catch (error) {
    if (!(error instanceof HttpProblem)) throw error
    return `${error.status} ${error.code} retry-after ${error.headers['retry-after']}`
  }
}

const tick = () => Bun.sleep(0)

describe('the purchase queue', () => {
  test('the limits are 4 per customer and 256 waiting unless set; bad values stop start-up naming them', () => {
    const config = loadConfig({ DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' })
    expect([config.PURCHASES_PER_CUSTOMER, config.PURCHASE_QUEUE_LIMIT]).toEqual([4, 256])
    for (const [name, bad] of [
      ['PURCHASES_PER_CUSTOMER', '0'],
      ['PURCHASES_PER_CUSTOMER', 'many'],
      ['PURCHASE_QUEUE_LIMIT', '-1'],
      ['PURCHASE_QUEUE_LIMIT', '1.5'],
    ] as const)
      expect(() => loadConfig({ DATABASE_URL: 'memory://', [name]: bad })).toThrow(new RegExp(name))
  })

  test('one customer past its share gets 429 too-many-purchases at once, and that purchase never runs; others go on', async () => {
    const queue = createPurchaseQueue({ concurrency: 1, perCustomer: 2, waiting: 10 })
    const [a1, a2, b1] = [pending(), pending(), pending()]
    const first = queue.run('a', a1.job)
    const second = queue.run('a', a2.job)
    const refused = pending()
    expect(await refusal(queue.run('a', refused.job))).toBe('429 too-many-purchases retry-after 1')
    const other = queue.run('b', b1.job)
    await tick()
    expect([a1.started, a2.started, b1.started, refused.started]).toEqual([true, false, false, false])
    a1.finish()
    expect(await first).toBe('done')
    // its slot is back: a third purchase of `a` is taken, and waits its turn behind b's
    const a3 = pending()
    const third = queue.run('a', a3.job)
    expect(await refusal(queue.run('a', async () => 'x'))).toBe('429 too-many-purchases retry-after 1')
    await tick()
    expect([a2.started, b1.started, a3.started]).toEqual([true, false, false])
    // a failed purchase gives its slot back too
    a2.finish(false)
    await expect(second).rejects.toThrow('failed')
    await tick()
    const a4 = pending()
    const fourth = queue.run('a', a4.job)
    b1.finish()
    await tick()
    a3.finish()
    await tick()
    a4.finish()
    expect(await Promise.all([other, third, fourth])).toEqual(['done', 'done', 'done'])
  })

  test('past PURCHASE_QUEUE_LIMIT waiting, the next purchase gets 503 purchases-busy and never runs', async () => {
    const queue = createPurchaseQueue({ concurrency: 1, perCustomer: 10, waiting: 2 })
    const jobs = [pending(), pending(), pending()]
    const admitted = jobs.map((j, i) => queue.run(`c${i}`, j.job))
    expect(queue.pendingCount).toBeGreaterThanOrEqual(2)
    const refused = pending()
    expect(await refusal(queue.run('late', refused.job))).toBe('503 purchases-busy retry-after 1')
    await tick()
    expect(jobs.map((j) => j.started)).toEqual([true, false, false])
    jobs[0]!.finish()
    await admitted[0]
    await tick()
    // one waiting place is free again
    const next = pending()
    const taken = queue.run('late', next.job)
    for (const j of [jobs[1]!, jobs[2]!, next]) {
      await tick()
      j.finish()
    }
    expect(await Promise.all([...admitted, taken])).toEqual(['done', 'done', 'done', 'done'])
    expect(refused.started).toBe(false)
    expect(queue.pendingCount).toBe(0)
  })
})

type Action = { kind: 'buy'; customer: number } | { kind: 'finish'; which: number; ok: boolean }

test('model: any sequence of purchases and endings keeps every customer within its share, the line within its bound, and the order first come first served', async () => {
  const action = fc.oneof(
    fc.record({ kind: fc.constant('buy' as const), customer: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('finish' as const), which: fc.nat(), ok: fc.boolean() }),
  )
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        concurrency: fc.integer({ min: 1, max: 3 }),
        perCustomer: fc.integer({ min: 1, max: 3 }),
        waiting: fc.integer({ min: 1, max: 4 }),
      }),
      fc.array(action, { maxLength: 40 }),
      async (limits, actions: Action[]) => {
        const queue = createPurchaseQueue(limits)
        // the model: admitted purchases not yet ended, in arrival order
        const open: { customer: number; job: ReturnType<typeof pending>; result: Promise<string> }[] = []
        const refusedRan: boolean[] = []
        for (const a of actions) {
          if (a.kind === 'buy') {
            const mine = open.filter((o) => o.customer === a.customer).length
            const waiting = Math.max(0, open.length - limits.concurrency)
            const expected = mine >= limits.perCustomer ? '429' : waiting >= limits.waiting ? '503' : 'admitted'
            const job = pending()
            const result = queue.run(`c${a.customer}`, job.job)
            if (expected === 'admitted') open.push({ customer: a.customer, job, result: result.catch(() => 'failed') })
            else {
              expect(await refusal(result)).toStartWith(expected)
              refusedRan.push(job.started)
            }
          } else {
            const running = open.filter((o) => o.job.started)
            if (running.length === 0) continue
            const ended = running[a.which % running.length]!
            ended.job.finish(a.ok)
            expect(await ended.result).toBe(a.ok ? 'done' : 'failed')
            open.splice(open.indexOf(ended), 1)
          }
          await tick()
          // the first `concurrency` admitted purchases run, the others wait, in arrival order
          expect(open.map((o) => o.job.started)).toEqual(open.map((_, i) => i < limits.concurrency))
          expect(queue.pendingCount).toBe(Math.max(0, open.length - limits.concurrency))
        }
        expect(refusedRan.every((ran) => !ran)).toBe(true)
        // everything admitted ends
        while (open.length > 0) {
          const o = open.shift()!
          await tick()
          o.job.finish()
          expect(await o.result).toBe('done')
        }
        expect(queue.pendingCount).toBe(0)
      },
    ),
    { numRuns: 150 },
  )
})
