import type { PGlite, Transaction } from '@electric-sql/pglite'
import { type Database, type Db, openDatabase } from '@logistics/shared/db'
import { drizzle } from 'drizzle-orm/pglite'

/**
 * In-memory PGlite databases for tests, reused within a test process. Opening one costs ~0.5 s of
 * CPU (its migrated template loaded into a new WebAssembly instance: measured 59 opens, 30 s of the
 * suite's CPU); emptying one costs a few milliseconds. So a test's database, once closed, goes back
 * to this process's pool emptied, and the next test of the same service gets it as if new:
 *
 * - every table of `public` truncated and every sequence restarted, the session reset (DISCARD ALL:
 *   settings, advisory locks, temporary tables);
 * - given back only if its schema is exactly the migrated one (a test that altered a table and did
 *   not restore it, or failed half-way, makes the next test open a new database instead);
 * - the test's handle is dead once closed, like a closed PGlite ("PGlite is closed"): a timer of
 *   that test's app still running never reaches the next test's data, and a test that closes the
 *   database to cut it off from its app still sees every query refused.
 */

/** What a closed PGlite throws (the services take it for a database that is gone: 503). */
const closedError = () => new Error('PGlite is closed')

type Entry = { pglite: PGlite; fingerprint: string }
const idle = new Map<string, Entry[]>()
/** Idle databases kept per service and process (each holds ~100 MB of WebAssembly memory). */
const KEEP = 2
/** A reset that takes longer (a transaction the test left open) gives the database up. */
const RESET_TIMEOUT_MS = 2_000

/** What the schema of `public` is: tables, columns, constraints, indexes, functions, triggers, sequences. */
async function fingerprint(pglite: PGlite): Promise<string> {
  const { rows } = await pglite.query<{ f: string }>(`
    select md5(coalesce(string_agg(x, E'\\n' order by x), '')) as f from (
      select format('r %s %s', c.relkind, c.relname) as x from pg_class c where c.relnamespace = 'public'::regnamespace
      union all select format('a %s.%s %s %s %s', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
          pg_get_expr(d.adbin, d.adrelid))
        from pg_attribute a join pg_class c on c.oid = a.attrelid
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where c.relnamespace = 'public'::regnamespace and a.attnum > 0 and not a.attisdropped
      union all select format('c %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) from pg_constraint where connamespace = 'public'::regnamespace
      union all select format('i %s', pg_get_indexdef(indexrelid)) from pg_index i join pg_class c on c.oid = i.indexrelid where c.relnamespace = 'public'::regnamespace
      union all select format('p %s %s', p.oid::regprocedure, md5(p.prosrc)) from pg_proc p where p.pronamespace = 'public'::regnamespace
      union all select format('t %s %s %s', tgrelid::regclass, tgname, tgenabled) from pg_trigger t join pg_class c on c.oid = t.tgrelid
        where c.relnamespace = 'public'::regnamespace and not t.tgisinternal
      union all select format('m %s', count(*)) from drizzle.__drizzle_migrations
    ) s`)
  return rows[0]!.f
}

/** Empties every table and restarts every sequence of `public`, and resets the session. */
async function reset(pglite: PGlite) {
  const { rows } = await pglite.query<{ tables: string | null; sequences: string[] }>(`
    select (select string_agg(format('%I', relname), ', ') from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')) as tables,
           array(select format('%I', relname) from pg_class where relnamespace = 'public'::regnamespace and relkind = 'S') as sequences`)
  const { tables, sequences } = rows[0]!
  const statements = [tables ? `truncate ${tables} restart identity cascade` : '', ...sequences.map((s) => `alter sequence ${s} restart`)]
  await pglite.exec(statements.filter(Boolean).join(';\n'))
  await pglite.exec('discard all') // (not in a transaction block: on its own)
}

/** `target` seen through a lease: every call refused once `live()` is false. */
function leased<T extends object>(target: T, live: () => boolean, close: () => Promise<void>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (prop === 'closed') return !live() || (t as { closed?: boolean }).closed
      if (prop === 'close') return close
      const value = Reflect.get(t, prop, t)
      if (typeof value !== 'function') return value
      if (prop === 'transaction')
        return (callback: (tx: Transaction) => Promise<unknown>) => {
          if (!live()) return Promise.reject(closedError())
          return (t as unknown as PGlite).transaction((tx) => callback(leased(tx, live, async () => {})))
        }
      // (PGlite's methods are async: a refused call rejects rather than throws)
      return (...args: unknown[]) => (live() ? (value as (...a: unknown[]) => unknown).apply(t, args) : Promise.reject(closedError()))
    },
  })
}

async function giveBack(service: string, entry: Entry) {
  const list = idle.get(service) ?? []
  idle.set(service, list)
  const ok = await Promise.race([
    (async () => {
      if (entry.pglite.closed || (await fingerprint(entry.pglite)) !== entry.fingerprint) return false
      await reset(entry.pglite)
      return true
    })().catch(() => false),
    Bun.sleep(RESET_TIMEOUT_MS).then(() => false),
  ])
  if (ok && list.length < KEEP) list.push(entry)
  else if (!entry.pglite.closed) void entry.pglite.close().catch(() => {})
}

/** An in-memory PGlite database of `service`, empty and migrated: reused from this process's pool when one is idle. */
export async function pooledPglite<TSchema extends Record<string, unknown>>(options: {
  service: string
  schema: TSchema
  migrationsFolder: string
}): Promise<Database<TSchema>> {
  let entry = idle.get(options.service)?.pop()
  if (!entry) {
    const opened = await openDatabase({ ...options, url: 'memory://' })
    entry = { pglite: opened.pglite!, fingerprint: await fingerprint(opened.pglite!) }
  }
  const own = entry
  let live = true
  let closing: Promise<void> | undefined
  const close = () => {
    live = false
    closing ??= giveBack(options.service, own)
    return closing
  }
  const client = leased(own.pglite, () => live, close)
  const db = drizzle({ client, schema: options.schema }) as unknown as Db<TSchema>
  return { db, kind: 'pglite', close, pglite: client }
}
