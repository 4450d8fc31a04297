/**
 * The postgres driver's internal queue, as patched in patches/postgres@3.4.9.patch. The driver
 * keeps its connections in these queues (open, busy, full, ...) and moves a connection between
 * them on every query. Unpatched, a queue that never empties (a pool kept busy by steady load)
 * kept one hole per shifted entry and `remove` scanned all of them: every query cost O(queries
 * since the pool was last idle), and a service under steady load got slower by the second
 * (measured: 45 000 → 13 000 queries/s within 25 s; the catalogue read fell from 15 000 to 7 000/s).
 */
import { describe, expect, test } from 'bun:test'
import { dirname, join } from 'node:path'
import fc from 'fast-check'

type Queue<T> = { readonly length: number; push(x: T): T; shift(): T; remove(x: T): T | null }
const driverDir = dirname(Bun.resolveSync('postgres', import.meta.dir))
const Queue = (await import(join(driverDir, 'queue.js'))).default as <T>(initial?: T[]) => Queue<T>

/** An array that records how long it grew and how far `indexOf` had to look (its subclass survives `slice`). */
class Watched<T> extends Array<T> {
  static maxLength = 0
  static maxScan = 0
  override push(...xs: T[]) {
    const n = super.push(...xs)
    Watched.maxLength = Math.max(Watched.maxLength, n)
    return n
  }
  override indexOf(x: T, from = 0) {
    const at = super.indexOf(x, from)
    Watched.maxScan = Math.max(Watched.maxScan, (at === -1 ? this.length : at + 1) - from)
    return at
  }
}

describe('the driver queue (patched)', () => {
  test('a pool kept busy: moving connections through a queue that never empties keeps it small', () => {
    Watched.maxLength = Watched.maxScan = 0
    // Ten busy connections; each query takes the first and moves it back (the driver's `go` then `move`).
    const busy = Queue(Watched.from(Array.from({ length: 10 }, (_, i) => ({ id: i }))))
    for (let q = 0; q < 100_000; q++) {
      const c = busy.shift()
      busy.remove(c) // `move` removes a connection from the queue it was in: here it is already out
      busy.push(c)
    }
    expect(busy.length).toBe(10)
    // Unpatched: the backing array reached 100 010 entries and every remove scanned all of them.
    expect(Watched.maxLength).toBeLessThan(2_100)
    expect(Watched.maxScan).toBeLessThan(2_100)
  })

  test('behaves as a FIFO with removal (fast-check against a plain array)', () => {
    type Op = { op: 'push' } | { op: 'shift' } | { op: 'remove'; pick: number }
    const op = fc.oneof(
      // more pushes than shifts: long runs that never empty, so the holes get compacted on the way
      { weight: 4, arbitrary: fc.constant<Op>({ op: 'push' }) },
      { weight: 3, arbitrary: fc.constant<Op>({ op: 'shift' }) },
      { weight: 1, arbitrary: fc.nat(50).map<Op>((pick) => ({ op: 'remove', pick })) },
    )
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 6_000, size: 'max' }), (ops) => {
        const q = Queue<{ n: number }>()
        const model: { n: number }[] = []
        let next = 0
        for (const o of ops) {
          if (o.op === 'push') {
            const x = { n: next++ }
            q.push(x)
            model.push(x)
          } else if (o.op === 'shift') {
            if (model.length === 0) continue // the driver checks `length` before it shifts
            expect(q.shift()).toBe(model.shift()!)
          } else {
            const x = model.length ? model[o.pick % model.length]! : { n: -1 }
            const at = model.indexOf(x)
            expect(q.remove(x)).toBe(at === -1 ? null : x)
            if (at !== -1) model.splice(at, 1)
          }
          expect(q.length).toBe(model.length)
        }
        while (model.length) expect(q.shift()).toBe(model.shift()!)
      }),
      { numRuns: 100 },
    )
  })
})
