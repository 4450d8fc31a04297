/**
 * The test databases reused within a test process (testkit/pglite-pool.ts): a test gets a database
 * as if new, whatever the test before it did with its own, and a closed handle stays closed.
 */
import { describe, expect, test } from 'bun:test'
import { pooledPglite } from '@logistics/testkit/pglite-pool'
import { sql } from 'drizzle-orm'
import { migrationsFolder, schema } from '../delivery/src/db'
import { apiClients } from '../delivery/src/db/schema'

const open = () => pooledPglite({ service: 'delivery', schema, migrationsFolder })
type Lease = Awaited<ReturnType<typeof open>>
const one = async <T>(lease: Lease, query: string) => (await lease.pglite!.query<T>(query)).rows[0] as T
/** What a query ends with: the message of the error at the root of what it threw (drizzle wraps the driver's). */
async function outcome(query: PromiseLike<unknown>): Promise<string> {
  try {
    await query
    return 'answered'
  } catch (error) {
    let root = error as Error
    while (root.cause instanceof Error) root = root.cause
    return root.message
  }
}
/** Grows over a database's life: a reused database answers more than one loaded anew. */
const txid = async (lease: Lease) => Number((await one<{ x: string }>(lease, 'select txid_current()::text as x')).x)

describe('test databases reused within a process', () => {
  test('the next test gets the database back empty, its sequences restarted and its session reset', async () => {
    const first = await open()
    await first.db.insert(apiClients).values({ name: 'left-behind', keyHash: 'x'.repeat(64) })
    const sequence = await one<{ n: string }>(first, "select nextval('tracking_events_id_seq')::text as n")
    await first.pglite!.exec(`set statement_timeout = '1234ms'; select pg_advisory_lock(42)`)
    const used = await txid(first)
    await first.close()

    const second = await open()
    try {
      expect(await txid(second)).toBeGreaterThan(used) // the same database, not a new one
      expect(await second.db.select().from(apiClients)).toEqual([])
      expect(await one<{ n: string }>(second, "select nextval('tracking_events_id_seq')::text as n")).toEqual(sequence)
      expect(await one(second, 'show statement_timeout')).toEqual({ statement_timeout: '0' })
      expect(await one(second, 'select count(*)::int as n from pg_locks where locktype = $$advisory$$')).toEqual({ n: 0 })
    } finally {
      await second.close()
    }
  })

  test('a closed handle refuses every query, as a closed PGlite does, while the next test uses the database', async () => {
    const first = await open()
    await first.close()
    const second = await open()
    try {
      expect(await outcome(first.db.select().from(apiClients))).toBe('PGlite is closed')
      expect(await outcome(first.db.transaction(async (tx) => tx.select().from(apiClients)))).toBe('PGlite is closed')
      expect(await outcome(first.db.execute(sql`select 1`))).toBe('PGlite is closed')
      expect(first.pglite!.closed).toBe(true)
      expect(await second.db.select().from(apiClients)).toEqual([])
    } finally {
      await second.close()
    }
  })

  test('a transaction still running when its test closes is cut off: nothing of it reaches the next test', async () => {
    const first = await open()
    const held = Promise.withResolvers<void>()
    const inside = Promise.withResolvers<void>()
    const pending = first.db.transaction(async (tx) => {
      await tx.insert(apiClients).values({ name: 'mid-transaction', keyHash: 'y'.repeat(64) })
      inside.resolve()
      await held.promise
      await tx.insert(apiClients).values({ name: 'after-close', keyHash: 'z'.repeat(64) })
    })
    // the transaction holds the database: the close waits for it, and it fails once it goes on
    await inside.promise
    const closed = first.close()
    held.resolve()
    expect(await outcome(pending)).toBe('PGlite is closed')
    await closed
    const second = await open()
    try {
      expect(await second.db.select().from(apiClients)).toEqual([])
    } finally {
      await second.close()
    }
  })

  test('a database whose schema a test changed is not given to the next test', async () => {
    const first = await open()
    await first.pglite!.exec('create table left_over (id int)')
    await first.close()
    const second = await open()
    try {
      expect(await one(second, `select to_regclass('public.left_over') is null as gone`)).toEqual({ gone: true })
      expect(await second.db.select().from(apiClients)).toEqual([])
    } finally {
      await second.close()
    }
  })
})
