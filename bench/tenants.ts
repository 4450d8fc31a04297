import { join } from 'node:path'
import postgres from 'postgres'
import { openDeliveryDatabase } from '../delivery/src/db'
import { provisionApiClients } from '../delivery/src/modules/auth/service'
import { purgeSubscription } from '../delivery/src/modules/webhooks/retention'
import { freshDatabase, median, ratio, startService } from './lib'

/**
 * Tenants and time: what one client does to another's webhooks.
 *
 * - `benchStuckNeighbour`: a healthy client's webhook latency (from the event being due to the
 *   receiver getting it) while another client has `stuck` deliveries whose endpoint never answers,
 *   against the same load alone. One dispatcher process with the production settings (10 s
 *   timeout, 500 ms idle poll); events are written straight into the outbox, due at once, one
 *   every 50 ms for `seconds`.
 * - `benchDeleteWebhook`: DELETE /webhooks/{id} on the delivery service with `rows` events and as
 *   many attempts behind the webhook, against deleting one without history; then the purge of its
 *   history (the upkeep job's function, batches of 1 000), in rows per second.
 */

const SECRET = 'whsec_YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g='
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN

type LatencyRun = { events: number; received: number; p50: number; p99: number; max: number }

async function latencyRun(stuck: number, seconds: number): Promise<LatencyRun> {
  const target = await freshDatabase('tenants')
  const database = await openDeliveryDatabase(target.url)
  const sql = postgres(target.url, { max: 1, onnotice: () => {} })
  const latencies: number[] = []
  const healthy = Bun.serve({
    port: 0,
    async fetch(req) {
      const { due } = (await req.json()) as { due: number }
      latencies.push(Date.now() - due)
      return new Response(null, { status: 204 })
    },
  })
  // Never answers: holds every request until the dispatcher's timeout drops it.
  const neverAnswers = Bun.serve({ port: 0, idleTimeout: 0, fetch: () => new Promise<Response>(() => {}) })
  let worker: ReturnType<typeof Bun.spawn> | null = null
  try {
    await provisionApiClients(database.db, [
      ['healthy', 'bench-healthy-key'],
      ['stuck', 'bench-stuck-key'],
    ])
    await sql.unsafe(`
      insert into webhook_subscriptions (client_id, url, secret)
      select id, case name when 'healthy' then 'http://127.0.0.1:${healthy.port}/hook' else 'http://127.0.0.1:${neverAnswers.port}/hook' end,
        '${SECRET}' from api_clients`)
    worker = Bun.spawn(['bun', join(import.meta.dir, 'dispatcher-worker.ts')], {
      env: { ...process.env, DATABASE_URL: target.url, BENCH_POLL_MS: '500' },
      stdout: 'pipe',
      stderr: 'inherit',
    })
    await (worker.stdout as ReadableStream<Uint8Array>).getReader().read() // "ready"
    if (stuck > 0)
      await sql.unsafe(`
        insert into webhook_events (subscription_id, delivery_id, payload)
        select s.id, gen_random_uuid(), '{"stuck":true}' from webhook_subscriptions s join api_clients c on c.id = s.client_id,
          generate_series(1, ${stuck}) where c.name = 'stuck'`)
    const events = Math.round((seconds * 1000) / 50)
    for (let i = 0; i < events; i++) {
      const due = Date.now()
      await sql.unsafe(
        `insert into webhook_events (subscription_id, delivery_id, payload, next_attempt_at, created_at)
         select s.id, gen_random_uuid(), $1, to_timestamp($2::float8 / 1000), to_timestamp($2::float8 / 1000)
         from webhook_subscriptions s join api_clients c on c.id = s.client_id where c.name = 'healthy'`,
        [JSON.stringify({ due }), due],
      )
      await Bun.sleep(50)
    }
    for (let i = 0; i < 100 && latencies.length < events; i++) await Bun.sleep(50)
    return { events, received: latencies.length, p50: pct(latencies, 50), p99: pct(latencies, 99), max: Math.max(...latencies) }
  } finally {
    worker?.kill('SIGTERM')
    if (worker) await Promise.race([worker.exited, Bun.sleep(15_000)])
    healthy.stop(true)
    neverAnswers.stop(true)
    await sql.end()
    await database.close()
    await target.drop()
  }
}

export async function benchStuckNeighbour(stuck = 100, seconds = 10) {
  const alone = await latencyRun(0, seconds)
  const beside = await latencyRun(stuck, seconds)
  return {
    stuck_deliveries: stuck,
    alone,
    beside_stuck: beside,
    p50_ratio: ratio(beside.p50, alone.p50),
    p99_ratio: ratio(beside.p99, alone.p99),
  }
}

export async function benchDeleteWebhook(rows = 500_000) {
  const target = await freshDatabase('delete_webhook')
  const key = 'bench-delete-key'
  const service = await startService('delivery', { DATABASE_URL: target.url, DELIVERY_API_KEYS: `bench:${key}`, LOG_LEVEL: 'warn' })
  const sql = postgres(target.url, { max: 1, onnotice: () => {} })
  let stopped = false
  try {
    const call = async (method: string, path: string, body?: unknown) => {
      const t0 = performance.now()
      const res = await fetch(`${service.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      })
      const json = res.status === 204 ? null : await res.json()
      return { status: res.status, json: json as { id: string } | null, ms: performance.now() - t0 }
    }
    const register = async (url: string) => (await call('POST', '/webhooks', { url })).json!.id
    const big = await register('https://hooks.example.test/big')
    const other = await register('https://hooks.example.test/other')
    await sql.unsafe(
      `
      with e as (
        insert into webhook_events (subscription_id, delivery_id, payload, state, delivered_at)
        select $1::uuid, gen_random_uuid(), '{}', 'delivered', now() from generate_series(1, ${rows})
        returning id
      )
      insert into webhook_attempts (event_id, subscription_id, status_code, duration_ms) select id, $1::uuid, 204, 1 from e`,
      [big],
    )
    await sql.unsafe(
      `
      with e as (
        insert into webhook_events (subscription_id, delivery_id, payload, state) select $1::uuid, gen_random_uuid(), '{}', 'delivered'
        from generate_series(1, 10000) returning id
      )
      insert into webhook_attempts (event_id, subscription_id, status_code, duration_ms) select id, $1::uuid, 204, 1 from e`,
      [other],
    )
    await sql.unsafe('vacuum analyze webhook_events, webhook_attempts')
    // Without history: the same request five times (warm), the median.
    const empty: number[] = []
    for (let i = 0; i < 5; i++) {
      const id = await register(`https://hooks.example.test/empty-${i}`)
      const r = await call('DELETE', `/webhooks/${id}`)
      if (r.status !== 204) throw new Error(`DELETE answered ${r.status}`)
      empty.push(r.ms)
    }
    const deleted = await call('DELETE', `/webhooks/${big}`)
    if (deleted.status !== 204) throw new Error(`DELETE answered ${deleted.status}`)
    await service.stop()
    stopped = true
    const database = await openDeliveryDatabase(target.url)
    try {
      const t0 = performance.now()
      const purged = await purgeSubscription(database.db, big)
      const seconds = (performance.now() - t0) / 1000
      const [left] = await sql<{ n: number }[]>`select count(*)::int as n from webhook_events where subscription_id = ${other}`
      return {
        rows,
        delete_ms: Math.round(deleted.ms * 10) / 10,
        empty_delete_ms: Math.round(median(empty) * 10) / 10,
        ratio: ratio(deleted.ms, median(empty)),
        purge_seconds: Math.round(seconds * 10) / 10,
        purged_rows: purged.events + purged.attempts,
        purge_rows_per_second: Math.round((purged.events + purged.attempts) / seconds),
        other_kept: left!.n === 10000,
      }
    } finally {
      await database.close()
    }
  } finally {
    if (!stopped) await service.stop()
    await sql.end()
    await target.drop()
  }
}
