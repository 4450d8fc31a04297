import { join } from 'node:path'
import { PgDialect } from 'drizzle-orm/pg-core'
import postgres from 'postgres'
import { openDeliveryDatabase } from '../delivery/src/db'
import { provisionApiClients } from '../delivery/src/modules/auth/service'
import { advanceDeliveries, tickStatements } from '../delivery/src/modules/transitions/tick'
import { freePort, freshDatabase, median, ratio, rssMb, startService } from './lib'

/** One tick over `n` open deliveries: the app's function against the same statements sent alone. */
export async function benchTick(n = 100_000, rounds = 3) {
  const target = await freshDatabase('tick')
  const database = await openDeliveryDatabase(target.url)
  const client = postgres(target.url, { max: 1, onnotice: () => {} })
  try {
    await provisionApiClients(database.db, [['bench', 'bench-key']])
    await client.unsafe(`
      insert into webhook_subscriptions (client_id, url, secret)
      select id, 'http://127.0.0.1:9/bench', 'whsec_YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g=' from api_clients`)
    await client.unsafe(`
      insert into deliveries (client_id, tracking_number, foreign_order_id, status, products, origin_address, destination_name, destination_address, request_hash)
      select c.id, 'TRK-B-' || g, 'order-' || g, 'READY_FOR_PICK_UP', '[{"sku":"S","name":"N","qty":1}]'::jsonb, 'Dock 1', 'Ada', 'Street 1', 'h'
      from api_clients c, generate_series(1, ${n}) g`)
    const reset = async () => {
      await client.unsafe(`update deliveries set status = 'READY_FOR_PICK_UP'`)
      await client.unsafe(`truncate tracking_events, webhook_attempts, webhook_events, tick_state`)
      await client.unsafe(`vacuum analyze deliveries`)
    }
    const dialect = new PgDialect()
    const app: number[] = []
    const alone: number[] = []
    let day = 0
    for (let r = 0; r < rounds; r++) {
      await reset()
      let t0 = performance.now()
      const result = await advanceDeliveries(database.db, { now: new Date(Date.UTC(2030, 0, ++day)) })
      app.push(performance.now() - t0)
      if (!result.ran || result.moved !== n) throw new Error(`tick moved ${result.moved} of ${n}`)
      await reset()
      const s = tickStatements(new Date(Date.UTC(2030, 0, ++day)))
      t0 = performance.now()
      await client.begin(async (tx) => {
        for (const statement of [s.lock, s.guard, s.advance]) {
          const q = dialect.sqlToQuery(statement)
          await tx.unsafe(q.sql, q.params as never[])
        }
      })
      alone.push(performance.now() - t0)
    }
    return { deliveries: n, app_ms: Math.round(median(app)), alone_ms: Math.round(median(alone)), ratio: ratio(median(app), median(alone)) }
  } finally {
    await client.end()
    await database.close()
    await target.drop()
  }
}

/** Webhook events delivered per second to a local receiver by `replicas` dispatcher processes. */
export async function benchWebhooks(events = 20_000, replicas = 1) {
  const target = await freshDatabase('webhooks')
  const database = await openDeliveryDatabase(target.url)
  const client = postgres(target.url, { max: 1, onnotice: () => {} })
  const port = await freePort()
  const receiver = Bun.spawn(['bun', join(import.meta.dir, 'receiver.ts'), String(port)], { stdout: 'pipe' })
  const workers: ReturnType<typeof Bun.spawn>[] = []
  try {
    await new Response(receiver.stdout).body!.getReader().read() // the port line: it listens
    await provisionApiClients(database.db, [['bench', 'bench-key']])
    await client.unsafe(`
      insert into webhook_subscriptions (client_id, url, secret)
      select id, 'http://127.0.0.1:${port}/hook', 'whsec_YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g=' from api_clients`)
    for (let i = 0; i < replicas; i++) {
      const w = Bun.spawn(['bun', join(import.meta.dir, 'dispatcher-worker.ts')], {
        env: { ...process.env, DATABASE_URL: target.url },
        stdout: 'pipe',
        stderr: 'inherit',
      })
      await w.stdout.getReader().read() // "ready"
      workers.push(w)
    }
    const insertEvents = (n: number, label: string) =>
      client.unsafe(`
      insert into webhook_events (subscription_id, delivery_id, payload)
      select s.id, gen_random_uuid(),
        json_build_object('type', 'delivery.status_changed', 'timestamp', now()::text, 'data', json_build_object(
          'tracking_number', 'TRK-${label}-' || g, 'foreign_order_id', 'order-' || g, 'status', 'IN_ORIGIN',
          'previous_status', 'READY_FOR_PICK_UP', 'date', now()::text))::text
      from webhook_subscriptions s, generate_series(1, ${n}) g`)
    const delivered = async (n: number, since: number) => {
      for (;;) {
        const [row] = await client<{ n: number }[]>`select count(*)::int as n from webhook_events where state = 'delivered'`
        if (row!.n >= n) return
        if (performance.now() - since > 120_000) throw new Error(`only ${row!.n} of ${n} delivered in 120 s`)
        await Bun.sleep(50)
      }
    }
    // A warm-up batch first, not measured: each fresh replica process compiles its hot code (paid
    // once per process), which would otherwise count as work per event against more replicas.
    const warmUp = 1_000 * replicas
    await insertEvents(warmUp, 'W')
    await delivered(warmUp, performance.now())
    const cpu0 = workers.map((w) => cpuSeconds(w.pid))
    const t0 = performance.now()
    await insertEvents(events, 'B')
    await delivered(warmUp + events, t0)
    const seconds = (performance.now() - t0) / 1000
    const cpu = workers.reduce((sum, w, i) => sum + cpuSeconds(w.pid) - cpu0[i]!, 0)
    const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { received: number; distinct: number }
    return {
      events,
      replicas,
      seconds: Math.round(seconds * 100) / 100,
      per_second: Math.round(events / seconds),
      /** CPU seconds all replicas used meanwhile, and events delivered per replica CPU second. */
      cpu_seconds: Math.round(cpu * 100) / 100,
      per_cpu_second: Math.round(events / cpu),
      received: stats.received - warmUp,
      exactly_once: stats.received === warmUp + events && stats.distinct === warmUp + events,
    }
  } finally {
    for (const w of workers) w.kill('SIGTERM')
    await Promise.all(workers.map((w) => Promise.race([w.exited, Bun.sleep(5000)])))
    receiver.kill()
    await client.end()
    await database.close()
    await target.drop()
  }
}

/** User + system CPU seconds a process has used so far (Linux /proc; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8') as string
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Start-to-healthy and idle RSS of a service process. */
export async function benchIdle(name: 'delivery' | 'ecommerce', env: Record<string, string>) {
  const service = await startService(name, env)
  try {
    await Bun.sleep(2000)
    return { start_ms: service.startMs, idle_rss_mb: rssMb(service.pid), url: service.url }
  } finally {
    await service.stop()
  }
}
