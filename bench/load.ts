/**
 * The load generator: reads a LoadSpec as JSON on stdin, keeps `concurrency` requests in flight
 * for `durationMs` (after `warmupMs`), prints requests/s and latency percentiles as JSON.
 */
import type { LoadSpec } from './lib'

const spec = JSON.parse(await Bun.stdin.text()) as LoadSpec
let i = 0
const latencies: number[] = []
const statuses: Record<string, number> = {}
let errors = 0
let recording = false

async function worker(until: number) {
  while (performance.now() < until) {
    const r = spec.requests[i++ % spec.requests.length]!
    const t0 = performance.now()
    try {
      const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body })
      await res.arrayBuffer()
      if (recording) {
        latencies.push(performance.now() - t0)
        statuses[res.status] = (statuses[res.status] ?? 0) + 1
        if (res.status >= 400) errors++
      }
    } catch {
      if (recording) errors++
    }
  }
}

const warmup = spec.warmupMs ?? 1000
await Promise.all(Array.from({ length: spec.concurrency }, () => worker(performance.now() + warmup)))
recording = true
const start = performance.now()
await Promise.all(Array.from({ length: spec.concurrency }, () => worker(start + spec.durationMs)))
const seconds = (performance.now() - start) / 1000
latencies.sort((a, b) => a - b)
const pct = (p: number) =>
  Math.round((latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0) * 100) / 100
console.log(
  JSON.stringify({
    requests: latencies.length,
    errors,
    seconds: Math.round(seconds * 100) / 100,
    rps: Math.round(latencies.length / seconds),
    p50: pct(50),
    p99: pct(99),
    statuses,
  }),
)
