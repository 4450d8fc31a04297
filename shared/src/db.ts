import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { type SQL, sql } from 'drizzle-orm'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'

/**
 * One database layer for both services. `DATABASE_URL`:
 * - unset: PGlite (Postgres in WASM) on disk under `<dataRoot>/<service>`;
 * - `memory://`: an in-memory PGlite (tests, throwaway runs);
 * - `postgres://…` / `postgresql://…`: a real server through the `postgres` driver with a pool.
 * The same drizzle schema, migrations and queries run on all three.
 */
export type Db<TSchema extends Record<string, unknown> = Record<string, unknown>> = PgDatabase<PgQueryResultHKT, TSchema>

export type DatabaseKind = 'pglite' | 'postgres'

export type Database<TSchema extends Record<string, unknown>> = {
  db: Db<TSchema>
  kind: DatabaseKind
  /** Closes the pool or the PGlite instance. */
  close: () => Promise<void>
  /** The PGlite instance, when that is the driver (tests take snapshots of it). */
  pglite?: PGlite
}

export type OpenDatabaseOptions<TSchema extends Record<string, unknown>> = {
  url: string | undefined
  service: string
  schema: TSchema
  migrationsFolder: string
  /** Where the on-disk PGlite lives when `url` is unset (default `./.data`). */
  dataRoot?: string
  /** A migrated PGlite snapshot to start from instead of migrating (tests). */
  pgliteSnapshot?: Blob | File
  poolSize?: number
}

/** Serialises migrations when several replicas start at once on one server. */
const MIGRATION_LOCK_ID = 727_001

export async function openDatabase<TSchema extends Record<string, unknown>>(
  options: OpenDatabaseOptions<TSchema>,
): Promise<Database<TSchema>> {
  const { url, schema, migrationsFolder } = options
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    await migrateServer(url, migrationsFolder)
    const client = postgres(url, {
      max: options.poolSize ?? 10,
      onnotice: () => {},
      connection: { application_name: options.service },
    })
    const db = drizzlePostgres(preparedStatements(client), { schema }) as unknown as Db<TSchema>
    return { db, kind: 'postgres', close: () => client.end({ timeout: 5 }) }
  }
  let pglite: PGlite
  if (options.pgliteSnapshot) {
    pglite = new PGlite({ loadDataDir: options.pgliteSnapshot })
  } else if (url === 'memory://') {
    pglite = new PGlite()
  } else if (url === undefined || url === '') {
    const dir = resolve(options.dataRoot ?? '.data', options.service)
    mkdirSync(dir, { recursive: true })
    pglite = new PGlite(dir)
  } else {
    throw new Error(`DATABASE_URL must be unset, memory:// or postgres://…; got "${url.replace(/\/\/[^@]*@/, '//***@')}"`)
  }
  await pglite.waitReady
  const db = drizzlePglite(pglite, { schema })
  if (!options.pgliteSnapshot) await migratePglite(db, { migrationsFolder })
  return { db: db as unknown as Db<TSchema>, kind: 'pglite', close: () => pglite.close(), pglite }
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

async function migrateServer(url: string, migrationsFolder: string) {
  const client = postgres(url, { max: 1, onnotice: () => {} })
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_ID})`
    await migratePostgres(drizzlePostgres(client), { migrationsFolder })
    await client`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`
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

/** Rows of a raw `db.execute(sql…)`, whichever driver answered (postgres-js: array; PGlite: `{ rows }`). */
export async function queryRows<T>(db: Db<any>, query: SQL): Promise<T[]> {
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
export async function pingDatabase(db: Db<any>): Promise<boolean> {
  try {
    await queryRows(db, sql`select 1`)
    return true
  } catch {
    return false
  }
}
