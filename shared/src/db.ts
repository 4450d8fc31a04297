import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { PGlite } from '@electric-sql/pglite'
import { type SQL, sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import { lockDirectory } from './dir-lock'
import { dropTemplateDatabases, extractTar, PGLITE_INITDB, PGLITE_SETTINGS, type PgliteTemplate, pgliteTemplate } from './pglite'

/**
 * One database layer for both services. `DATABASE_URL`:
 * - unset: PGlite (Postgres in WASM) on disk under `<dataRoot>/<service>`;
 * - `memory://`: an in-memory PGlite (tests, throwaway runs);
 * - `postgres://…` / `postgresql://…`: a real server through the `postgres` driver with a pool.
 * The same drizzle schema, migrations and queries run on all three.
 */
export type Db<TSchema extends Record<string, unknown> = Record<string, unknown>> = PgDatabase<PgQueryResultHKT, TSchema>

/** Either service's database, whatever its schema (for helpers that only run SQL). */
// biome-ignore lint/suspicious/noExplicitAny: drizzle's database type is invariant in its schema, so no narrower type takes both services' handles
export type AnyDb = Db<any>

type DatabaseKind = 'pglite' | 'postgres'

export type Database<TSchema extends Record<string, unknown>> = {
  db: Db<TSchema>
  kind: DatabaseKind
  /** Closes the pool or the PGlite instance. */
  close: () => Promise<void>
  /** The PGlite instance, when that is the driver (tests take snapshots of it). */
  pglite?: PGlite
}

/** Connections a service keeps to a PostgreSQL server (per replica), unless `poolSize` says otherwise. */
export const POOL_SIZE = 10

export type OpenDatabaseOptions<TSchema extends Record<string, unknown>> = {
  url: string | undefined
  service: string
  schema: TSchema
  migrationsFolder: string
  /** Where the on-disk PGlite lives when `url` is unset (default `./.data`). */
  dataRoot?: string
  /** The migrated template a new PGlite database starts from (default: the shared cache; see `pglite.ts`). */
  pgliteTemplate?: PgliteTemplate
  poolSize?: number
  /**
   * How long to keep trying a PostgreSQL server that does not answer yet before giving up with a
   * `DatabaseUnreachableError` (DATABASE_CONNECT_TIMEOUT_SECONDS; default 30; 0 tries once).
   */
  connectTimeoutSeconds?: number
  /** Told about each failed try (one line each; the host, never the password). */
  onConnectRetry?: (info: { host: string; attempt: number; error: string; retry_in_ms: number }) => void
  /** Told when each start-up step is done (the services log one line each: see `logStartStep`). */
  onStep?: (step: StartStep) => void
}

/**
 * A step of opening the database, as the start-up log shows it: the database answering (a PGlite
 * database says whether it was `existing`, loaded from the migrated `template`, or made `new` by
 * initdb), then the migrations (how many were applied now, of how many).
 */
export type StartStep =
  | { step: 'database'; database: DatabaseKind; source?: 'existing' | 'template' | 'new'; ms: number }
  | { step: 'migrations'; applied: number; total: number; ms: number }

/** The migrations drizzle has recorded in a database (0 before the first). */
async function appliedMigrations(query: (text: string) => Promise<{ n: number }[]>): Promise<number> {
  const [table] = await query("select (to_regclass('drizzle.__drizzle_migrations') is not null)::int as n")
  if (!table?.n) return 0
  const [count] = await query('select count(*)::int as n from drizzle.__drizzle_migrations')
  return count?.n ?? 0
}

/** The server a URL points at, without its credentials: `host:port/database`. */
function databaseHost(url: string): string {
  try {
    const u = new URL(url)
    return `${u.host}${u.pathname}`
  } catch {
    return 'an unparsable DATABASE_URL'
  }
}

/** Start-up gave up waiting for the database. Its message is one line, naming the host only. */
class DatabaseUnreachableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DatabaseUnreachableError'
  }
}

const oneLine = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]!.replace(/\/\/[^@\s/]*@/g, '//***@')

/**
 * Waits until the server answers `select 1`, trying again (every 0.5 s, growing to 2 s) for
 * `timeoutSeconds`; then throws a one-line `DatabaseUnreachableError` naming the host.
 */
async function waitForServer(
  url: string,
  timeoutSeconds = 30,
  onRetry?: OpenDatabaseOptions<Record<string, unknown>>['onConnectRetry'],
): Promise<void> {
  const host = databaseHost(url)
  const deadline = Date.now() + timeoutSeconds * 1000
  let delay = 500
  for (let attempt = 1; ; attempt++) {
    const left = deadline - Date.now()
    const client = postgres(url, {
      max: 1,
      onnotice: () => {},
      connect_timeout: Math.max(1, Math.min(10, Math.ceil(left / 1000))),
    })
    try {
      await client`select 1`
      return
    } catch (error) {
      const reason = oneLine(error)
      const wait = Math.min(delay, deadline - Date.now())
      if (wait <= 0)
        throw new DatabaseUnreachableError(
          `cannot reach the database at ${host} (${reason}) after ${attempt} ${attempt === 1 ? 'try' : 'tries'} in ${timeoutSeconds} s (DATABASE_CONNECT_TIMEOUT_SECONDS); check DATABASE_URL and that the server is up`,
        )
      onRetry?.({ host, attempt, error: reason, retry_in_ms: wait })
      await Bun.sleep(wait)
      delay = Math.min(delay * 2, 2000)
    } finally {
      await client.end({ timeout: 1 }).catch(() => {})
    }
  }
}

/** Serialises migrations when several replicas start at once on one server. */
const MIGRATION_LOCK_ID = 727_001

export async function openDatabase<TSchema extends Record<string, unknown>>(
  options: OpenDatabaseOptions<TSchema>,
): Promise<Database<TSchema>> {
  const { url, schema, migrationsFolder } = options
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    let started = performance.now()
    await waitForServer(url, options.connectTimeoutSeconds, options.onConnectRetry)
    options.onStep?.({ step: 'database', database: 'postgres', ms: Math.round(performance.now() - started) })
    started = performance.now()
    const { applied, total } = await migrateServer(url, migrationsFolder)
    options.onStep?.({ step: 'migrations', applied, total, ms: Math.round(performance.now() - started) })
    const client = postgres(url, {
      max: options.poolSize ?? POOL_SIZE,
      onnotice: () => {},
      connection: { application_name: options.service },
    })
    const db = drizzlePostgres(preparedStatements(client), { schema }) as unknown as Db<TSchema>
    return { db, kind: 'postgres', close: () => client.end({ timeout: 5 }) }
  }
  // PGlite's driver and drizzle's adapter are loaded only when PGlite is the database (~3 MB a
  // server-backed process does not need).
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ])
  const startParams = [...PGlite.defaultStartParams, ...PGLITE_SETTINGS]
  let dir: string | undefined
  let unlock = () => {}
  if (url === undefined || url === '') {
    dir = resolve(options.dataRoot ?? '.data', options.service)
    mkdirSync(dirname(dir), { recursive: true })
    // One process per folder: a second one would corrupt it (refused with one line; a stale lock is taken over).
    unlock = lockDirectory(dir)
    mkdirSync(dir, { recursive: true })
  } else if (url !== 'memory://') {
    throw new Error(`DATABASE_URL must be unset, memory:// or postgres://…; got "${url.replace(/\/\/[^@]*@/, '//***@')}"`)
  }
  // A new database (in memory, or a folder without a cluster) starts from the migrated template when there is one.
  const fresh = dir === undefined || !existsSync(join(dir, 'PG_VERSION'))
  const template = fresh ? (options.pgliteTemplate ?? pgliteTemplate(options.service, migrationsFolder)) : undefined
  const start = async (loadDataDir: Blob | undefined) => {
    const settings = { startParams, initDbStartParams: PGLITE_INITDB, loadDataDir }
    const pglite = dir ? new PGlite(dir, settings) : new PGlite(settings)
    try {
      await pglite.waitReady
      return pglite
    } catch (error) {
      await pglite.close().catch(() => {})
      throw error
    }
  }
  let pglite: PGlite | undefined
  let started = performance.now()
  // A new database starts from its migrated template; without one (or one that does not load:
  // truncated, or replaced meanwhile by a newer one), from the shared base cluster (one initdb for
  // both services); without a cache, initdb runs here.
  const sources: (() => Blob | undefined | Promise<Blob | undefined>)[] = template
    ? [
        () => template.file,
        () => {
          template.file = undefined // made anew: saved as the template once migrated
          return template.base(() => makeBaseCluster(PGlite, startParams))
        },
      ]
    : []
  try {
    for (const source of sources) {
      const from = await source()
      if (!from) continue
      try {
        // A folder gets the files written straight to disk (then opens as an existing database):
        // PGlite's own loader writes them through its WebAssembly file system, ~0.6 s slower.
        if (dir) await extractTar(from, dir)
        pglite = await start(dir ? undefined : from)
        break
      } catch {
        if (dir) for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true })
      }
    }
    pglite ??= await start(undefined)
  } catch (error) {
    unlock()
    throw error
  }
  const opened = pglite
  try {
    options.onStep?.({
      step: 'database',
      database: 'pglite',
      source: template ? (template.file ? 'template' : 'new') : 'existing',
      ms: Math.round(performance.now() - started),
    })
    started = performance.now()
    const count = () => appliedMigrations(async (text) => (await opened.query<{ n: number }>(text)).rows)
    const before = await count()
    const db = drizzlePglite(opened, { schema })
    await migratePglite(db, { migrationsFolder })
    const total = await count()
    options.onStep?.({ step: 'migrations', applied: total - before, total, ms: Math.round(performance.now() - started) })
    if (template && !template.file) await template.save(opened)
    const close = async () => {
      try {
        await opened.close()
      } finally {
        unlock()
      }
    }
    return { db: db as unknown as Db<TSchema>, kind: 'pglite', close, pglite: opened }
  } catch (error) {
    await opened.close().catch(() => {})
    unlock()
    throw error
  }
}

/** initdb in memory, without template0/template1, dumped: the base cluster (see `pglite.ts`). */
async function makeBaseCluster(PGliteClass: typeof PGlite, startParams: string[]): Promise<Blob> {
  const pglite = new PGliteClass({ startParams, initDbStartParams: PGLITE_INITDB })
  try {
    await pglite.waitReady
    await dropTemplateDatabases(pglite)
    return await pglite.dumpDataDir('none')
  } finally {
    await pglite.close()
  }
}

type Client = ReturnType<typeof postgres> | postgres.TransactionSql

/**
 * drizzle sends every query that was not `.prepare(name)`d with `prepare: false`, which costs
 * postgres-js a parse and describe on every call: measured here, a primary-key select ran at
 * ~4 000/s that way against ~30 000/s prepared. Our SQL is parameterised, so its set of texts is
 * small and fixed: let the driver prepare and cache each one per connection, in and out of
 * transactions (and their savepoints).
 */
function preparedStatements<C extends Client>(client: C): C {
  const unsafe = client.unsafe.bind(client) as (q: string, p?: unknown[], o?: postgres.UnsafeQueryOptions) => unknown
  ;(client as { unsafe: unknown }).unsafe = (query: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) =>
    unsafe(query, params, { ...options, prepare: true })
  const wrapTransactions = (name: 'begin' | 'savepoint') => {
    const original = (client as unknown as Record<string, ((...args: unknown[]) => unknown) | undefined>)[name]
    if (!original) return
    ;(client as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const fn = args.at(-1) as (tx: postgres.TransactionSql) => unknown
      args[args.length - 1] = (tx: postgres.TransactionSql) => fn(preparedStatements(tx))
      return original.apply(client, args)
    }
  }
  wrapTransactions('begin')
  wrapTransactions('savepoint')
  return client
}

async function migrateServer(url: string, migrationsFolder: string): Promise<{ applied: number; total: number }> {
  const client = postgres(url, { max: 1, onnotice: () => {} })
  const count = () => appliedMigrations((text) => client.unsafe(text) as unknown as Promise<{ n: number }[]>)
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_ID})`
    const before = await count()
    await migratePostgres(drizzlePostgres(client), { migrationsFolder })
    const total = await count()
    await client`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`
    return { applied: total - before, total }
  } finally {
    await client.end({ timeout: 5 })
  }
}

/**
 * `build(db)` made once per database handle and kept with it: the hot queries prepared with
 * `.prepare(name)` and `sql.placeholder`s (drizzle then skips building their SQL on every call),
 * or a plugin holding a cache. Only for handles, not transactions (each is a new handle).
 */
export function oncePerDb<D extends object, Q>(build: (db: D) => Q): (db: D) => Q {
  const cache = new WeakMap<D, Q>()
  return (db) => {
    let query = cache.get(db)
    if (!query) {
      query = build(db)
      cache.set(db, query)
    }
    return query
  }
}

/** A tagged-template query run by the driver itself; values are sent as parameters, never spliced. */
export type DriverQuery = <T extends object>(strings: TemplateStringsArray, ...values: unknown[]) => Promise<T[]>

/**
 * The database's own driver as a tagged template, past drizzle: `postgres\`…\`` (prepared once per
 * connection, like every statement here) or PGlite's `sql\`…\``. For the hottest read only
 * (`GET /products/{id}`): under load, drizzle's prepared query cost that route ~20 µs of CPU a call
 * more than the driver's tagged template (bench ratio against the bare server 0.82 → 0.93 on the
 * same machine). The SQL names its columns and formats its own values (rows come back as the
 * driver parses them, which differs between the two drivers), so it is covered by the same tests
 * on both databases. Only for handles, not transactions.
 */
export function driverQuery(db: AnyDb): DriverQuery {
  const client = (db as unknown as { $client: unknown }).$client
  if (typeof client === 'function') {
    const sql = client as postgres.Sql
    return ((strings, ...values) => sql(strings, ...(values as postgres.ParameterOrFragment<never>[]))) as DriverQuery
  }
  // A transaction has no client of its own (and its queries must stay on its connection).
  if (!client) throw new Error('driverQuery needs a database handle, not a transaction')
  const pglite = client as PGlite
  return (async (strings, ...values) => (await pglite.sql(strings, ...values)).rows) as DriverQuery
}

/** Rows of a raw `db.execute(sql…)`, whichever driver answered (postgres-js: array; PGlite: `{ rows }`). */
export async function queryRows<T>(db: AnyDb, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown
  if (Array.isArray(result)) return result as T[]
  return ((result as { rows?: T[] }).rows ?? []) as T[]
}

/** Postgres error code of a failed query (unique violation 23505, …), through drizzle's wrapping. */
export function pgErrorCode(error: unknown): string | undefined {
  let e: unknown = error
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** The DETAIL of a failed query's error (both drivers: `detail`), through drizzle's wrapping. */
export function pgErrorDetail(error: unknown): string | undefined {
  let e: unknown = error
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const detail = (e as { detail?: unknown }).detail
    if (typeof detail === 'string') return detail
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** The constraint a failed query violated (postgres-js: `constraint_name`; PGlite: `constraint`). */
export function pgConstraint(error: unknown): string | undefined {
  let e: unknown = error
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const c = (e as { constraint_name?: unknown; constraint?: unknown }).constraint_name ?? (e as { constraint?: unknown }).constraint
    if (typeof c === 'string') return c
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** True when the database answers (for /health). */
export async function pingDatabase(db: AnyDb): Promise<boolean> {
  try {
    await queryRows(db, sql`select 1`)
    return true
  } catch {
    return false
  }
}
