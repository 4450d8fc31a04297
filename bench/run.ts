/**
 * `bun run bench`: every performance figure beside a baseline measured in the same run on this
 * machine, as a ratio, plus the targets. Needs a PostgreSQL server: DATABASE_URL, or the local one
 * at 127.0.0.1:5432 (as CI sets it up). Prints one table and writes bench/results.json.
 * BENCH_SECONDS (default 10) sets the length of each HTTP load run. BENCH_ONLY (a comma list of
 * shop, tick, webhooks, tenants, lists, idle, dev) runs only those sections, for working on one
 * figure; a "done" run is always the whole bench.
 */
import { join } from 'node:path'
import postgres from 'postgres'
import { benchIdle, benchTick, benchWebhooks } from './delivery'
import { benchDevStart } from './dev-start'
import { benchEcommerce } from './ecommerce'
import { freshDatabase, machine, ratio, serverUrl } from './lib'
import { benchDeliveryList, benchOrderList } from './lists'
import { benchDeleteWebhook, benchStuckNeighbour } from './tenants'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const sections = ['shop', 'tick', 'webhooks', 'tenants', 'lists', 'idle', 'dev'] as const
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim())
const unknown = only?.filter((s) => !(sections as readonly string[]).includes(s))
if (unknown?.length) {
  console.error(`bench: BENCH_ONLY names ${unknown.join(', ')}; the sections are ${sections.join(', ')}`)
  process.exit(2)
}
const runs = (section: (typeof sections)[number]) => !only || only.includes(section)
try {
  const probe = postgres(serverUrl, { max: 1, connect_timeout: 5, onnotice: () => {} })
  await probe`select 1`
  await probe.end()
} catch (error) {
  console.error(`bench: no PostgreSQL at ${serverUrl.replace(/\/\/[^@]*@/, '//***@')} (${(error as Error).message}); set DATABASE_URL`)
  process.exit(1)
}

const m = machine()
console.log(`bench: ${m.cores} cores (${m.cpu}), Bun ${m.bun}; load generator, services and PostgreSQL share these cores.`)

type Row = { figure: string; value: string; baseline: string; ratio: string; target: string; met: boolean | null }
const rows: Row[] = []
const results: Record<string, unknown> = { machine: m, date: new Date().toISOString(), seconds_per_load_run: seconds }

if (runs('shop')) {
  console.log('bench: catalogue reads and purchases…')
  const shop = await benchEcommerce({ durationMs: seconds * 1000, customers: 32 })
  results.ecommerce = shop
  rows.push({
    figure: 'GET /products/{id}, 64 connections',
    value: `${shop.product_read.app.rps}/s p50 ${shop.product_read.app.p50} ms p99 ${shop.product_read.app.p99} ms`,
    baseline: `${shop.product_read.baseline.rps}/s p50 ${shop.product_read.baseline.p50} ms p99 ${shop.product_read.baseline.p99} ms (bare Bun.serve + postgres)`,
    ratio: String(shop.product_read.ratio),
    target: 'ratio ≥ 0.9',
    met: shop.product_read.ratio >= 0.9 && shop.product_read.app.errors === 0,
  })
  const purchaseValue = `${shop.purchase.app.rps}/s p99 ${shop.purchase.app.p99} ms, stock exact: ${shop.purchase.stock_exact}`
  rows.push({
    figure: 'POST /purchases, 2 lines/2 sellers, 32 clients, hot products',
    value: purchaseValue,
    baseline: `${shop.purchase.one_statement.rps}/s p99 ${shop.purchase.one_statement.p99} ms (the whole purchase as ONE statement, driver alone)`,
    ratio: String(shop.purchase.ratio_one_statement),
    target: 'ratio ≥ 0.5, p99 < 50 ms, stock exact',
    met:
      shop.purchase.ratio_one_statement >= 0.5 && shop.purchase.app.p99 < 50 && shop.purchase.stock_exact && shop.purchase.app.errors === 0,
  })
  rows.push({
    figure: 'POST /purchases, same load, against the 5-statement transaction',
    value: purchaseValue,
    baseline: `${shop.purchase.baseline.rps}/s p99 ${shop.purchase.baseline.p99} ms (the transaction statement for statement, driver alone)`,
    ratio: String(shop.purchase.ratio),
    target: 'ratio ≥ 0.5, p99 < 50 ms, stock exact',
    met: shop.purchase.ratio >= 0.5 && shop.purchase.app.p99 < 50 && shop.purchase.stock_exact && shop.purchase.app.errors === 0,
  })
}

if (runs('tick')) {
  console.log('bench: one tick over 100 000 open deliveries…')
  const tick = await benchTick(100_000, 3)
  results.tick = tick
  rows.push({
    figure: 'one tick, 100 000 open deliveries (+100 000 outbox rows)',
    value: `${tick.app_ms} ms`,
    baseline: `${tick.alone_ms} ms (the same statements alone)`,
    ratio: String(tick.ratio),
    target: '≤ 2000 ms and ratio ≤ 2',
    met: tick.app_ms <= 2000 && tick.ratio <= 2,
  })
}

if (runs('webhooks')) {
  console.log('bench: webhook delivery, 1 then 2 dispatcher replicas…')
  const one = await benchWebhooks(50_000, 1)
  const two = await benchWebhooks(50_000, 2)
  results.webhooks = { one, two, per_cpu_second_ratio: ratio(two.per_cpu_second, one.per_cpu_second) }
  // On 2 cores one replica already uses both (with the receiver and PostgreSQL), so a second one
  // cannot add throughput here: what is measured is the work per event (events per CPU second of
  // the replicas), which must not degrade with 2 replicas, and that each event arrives exactly once.
  rows.push({
    figure: 'webhook events delivered to a local receiver',
    value: `1 replica ${one.per_second}/s; 2 replicas ${two.per_second}/s, every event exactly once: ${one.exactly_once && two.exactly_once}`,
    baseline: '—',
    ratio: '—',
    target: '1 replica ≥ 2000/s; exactly once with 2 replicas',
    met: one.per_second >= 2000 && one.exactly_once && two.exactly_once,
  })
  rows.push({
    figure: 'webhook events per replica CPU second (1 vs 2 replicas)',
    value: `2 replicas: ${two.per_cpu_second} events per CPU s (${two.cpu_seconds} CPU s)`,
    baseline: `1 replica: ${one.per_cpu_second} events per CPU s (${one.cpu_seconds} CPU s)`,
    ratio: String(ratio(two.per_cpu_second, one.per_cpu_second)),
    target: 'ratio ≥ 0.8 (a second replica costs no extra work per event)',
    met: ratio(two.per_cpu_second, one.per_cpu_second) >= 0.8,
  })
}

if (runs('tenants')) {
  console.log('bench: a healthy client beside one whose endpoint never answers; deleting a webhook with history…')
  const neighbour = await benchStuckNeighbour(100, seconds)
  const deletion = await benchDeleteWebhook(500_000)
  results.tenants = { neighbour, deletion }
  const { alone, beside_stuck: beside } = neighbour
  rows.push({
    figure: "a healthy client's webhook latency (due → received), another client with 100 stuck deliveries",
    value: `p50 ${beside.p50} ms p99 ${beside.p99} ms (${beside.received}/${beside.events})`,
    baseline: `p50 ${alone.p50} ms p99 ${alone.p99} ms (${alone.received}/${alone.events}), no stuck client`,
    ratio: String(neighbour.p99_ratio),
    target: 'p99 ≤ 1000 ms and p99 ratio ≤ 2',
    met: beside.p99 <= 1000 && neighbour.p99_ratio <= 2 && beside.received === beside.events,
  })
  rows.push({
    figure: 'DELETE /webhooks/{id}, 500 000 events + 500 000 attempts behind it; then its purge',
    value: `${deletion.delete_ms} ms; purge ${deletion.purge_rows_per_second} rows/s (${deletion.purged_rows} rows, ${deletion.purge_seconds} s)`,
    baseline: `${deletion.empty_delete_ms} ms (a webhook without history)`,
    ratio: String(deletion.ratio),
    target: 'ratio ≤ 2; another webhook untouched',
    met: deletion.ratio <= 2 && deletion.other_kept,
  })
}

if (runs('lists')) {
  console.log('bench: lists at 1 000 000 rows (seeding takes a while)…')
  const orderList = await benchOrderList(1_000_000)
  const deliveryList = await benchDeliveryList(1_000_000)
  results.lists = { orders: orderList, deliveries: deliveryList }
  for (const [figure, l] of [
    [
      `GET /orders, 1 000 000 orders (one seller's 900 000, as that seller): first page; by cursor ${orderList.depth.toLocaleString('en')} deep`,
      orderList,
    ],
    [
      `GET /deliveries, 1 000 000 deliveries of one API client: first page; by cursor ${deliveryList.depth.toLocaleString('en')} deep`,
      deliveryList,
    ],
  ] as const) {
    rows.push({
      figure,
      value: `p50 ${l.first.p50} ms; p50 ${l.deep.p50} ms (total ${l.total})`,
      baseline: `?offset= at that depth: ${l.offset_ms} ms (one request)`,
      ratio: String(ratio(l.offset_ms, l.deep.p50)),
      target: 'p50 ≤ 5 ms, both pages',
      met: l.first.p50 <= 5 && l.deep.p50 <= 5 && l.first.errors === 0 && l.deep.errors === 0,
    })
  }
}

if (runs('idle')) {
  console.log('bench: idle memory and start-up…')
  const idle: Record<string, unknown> = {}
  for (const name of ['delivery', 'ecommerce'] as const) {
    const db = await freshDatabase(`idle_${name}`)
    const onPostgres = await benchIdle(name, { DATABASE_URL: db.url, DELIVERY_API_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'error' })
    await db.drop()
    const onPglite = await benchIdle(name, { DATABASE_URL: 'memory://', DELIVERY_API_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'error' })
    idle[name] = { postgres: onPostgres, pglite: onPglite }
    rows.push({
      figure: `${name}: idle RSS, start to healthy`,
      value: `PostgreSQL: ${onPostgres.idle_rss_mb} MB, ${onPostgres.start_ms} ms`,
      baseline: `PGlite (reported): ${onPglite.idle_rss_mb} MB, ${onPglite.start_ms} ms`,
      ratio: '—',
      target: '≤ 80 MB; ≤ 1000 ms (PostgreSQL)',
      met: onPostgres.idle_rss_mb <= 80 && onPostgres.start_ms <= 1000,
    })
  }
  results.idle = idle
}

if (runs('dev')) {
  console.log('bench: bun run dev in a fresh clone: install, first start, idle, restart, fresh data folder…')
  const dev = await benchDevStart()
  results.dev = dev
  rows.push(
    {
      figure: 'fresh clone to the dev banner (bun install + bun run dev, new PGlite data, no template yet)',
      value: `${dev.fresh_clone_s} s (install ${dev.install_s} s)`,
      baseline: '—',
      ratio: '—',
      target: '≤ 10 s',
      met: dev.fresh_clone_s <= 10,
    },
    {
      figure: 'bun run dev, warm restart to the banner',
      value: `${dev.warm_restart_s} s`,
      baseline: `fresh data folder, template cached: ${dev.fresh_data_dir_s} s`,
      ratio: '—',
      target: '≤ 3 s',
      met: dev.warm_restart_s <= 3,
    },
    {
      figure: `dev pair idle RSS on PGlite (after ${dev.idle_seconds} s idle)`,
      value: `${dev.idle_rss_mb.total} MB (delivery ${dev.idle_rss_mb.delivery}, ecommerce ${dev.idle_rss_mb.ecommerce})`,
      baseline: '—',
      ratio: '—',
      target: '≤ 400 MB',
      met: dev.idle_rss_mb.total > 0 && dev.idle_rss_mb.total <= 400,
    },
  )
}

results.table = rows

const widths = ['figure', 'value', 'baseline', 'ratio', 'target'].map((k) =>
  Math.max(k.length, ...rows.map((r) => String(r[k as keyof Row]).length)),
)
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
console.log()
console.log(`${line(['figure', 'value', 'baseline', 'ratio', 'target'])} met |`)
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|-----|`)
for (const r of rows) console.log(`${line([r.figure, r.value, r.baseline, r.ratio, r.target])} ${r.met ? 'yes' : 'NO '} |`)
await Bun.write(join(import.meta.dir, 'results.json'), JSON.stringify(results, null, 2))
console.log(`\nbench: wrote bench/results.json`)
