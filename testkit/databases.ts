import { test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { type Database, openDatabase } from '@logistics/shared/db'
import { migrationsKey } from '@logistics/shared/pglite'
import postgres from 'postgres'
import { pooledPglite } from './pglite-pool'

/**
 * Databases for tests. With `TEST_DATABASE_URL=postgres://…/<db>` each call creates a fresh
 * database on that server from the service's migrated template database (dropped on close); without it, each call gets an
 * empty in-memory PGlite: one a test of this process closed, emptied (see pglite-pool.ts), or else one loaded from the
 * service's migrated template (shared by every test process: see shared/src/pglite.ts).
 */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined
export const onRealPostgres = testDatabaseUrl !== undefined

/**
 * Why a server-only test is skipped on PGlite. It is part of the test's name, so every report says
 * it: the console's `(skip)` lines, the JUnit `<testcase name>` and CI's summary of skipped tests.
 */
export const POSTGRES_ONLY = '[PostgreSQL only: skipped on PGlite, set TEST_DATABASE_URL]'

/** A test that needs a PostgreSQL server: runs with TEST_DATABASE_URL, skipped (named, with the reason) on PGlite. */
export function testOnPostgres(name: string, fn: () => Promise<unknown> | undefined, options?: number | { timeout?: number }) {
  test.skipIf(!onRealPostgres)(`${name} ${POSTGRES_ONLY}`, fn, options)
}

const urlOf = (database: string) => {
  const url = new URL(testDatabaseUrl!)
  url.pathname = `/${database}`
  return url.toString()
}

/** Serialises the making of templates across test processes (parallel workers) on one server. */
const TEMPLATE_LOCK_ID = 727_002

/**
 * The service's migrated template database on the server, `test_template_<service>_<migrations key>`:
 * made once (under an advisory lock, built under another name and renamed when whole), then every
 * test database is created from it instead of running the migrations (~0.4 s each measured here).
 * A new set of migrations makes a new template; the old ones stay (small; drop them any time).
 */
async function serverTemplate(
  admin: postgres.Sql,
  options: { service: string; schema: Record<string, unknown>; migrationsFolder: string },
) {
  const template = `test_template_${options.service}_${migrationsKey(options.migrationsFolder)}`
  const exists = async () => (await admin`select 1 from pg_database where datname = ${template}`).length > 0
  if (await exists()) return template
  await admin`select pg_advisory_lock(${TEMPLATE_LOCK_ID})`
  try {
    if (await exists()) return template
    const building = `${template}_${process.pid}`
    await admin.unsafe(`drop database if exists "${building}"`)
    await admin.unsafe(`create database "${building}"`)
    const db = await openDatabase({ ...options, url: urlOf(building), poolSize: 1 })
    await db.close()
    // The pool's server processes may outlive its sockets for a moment: a rename waits for them to go.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.unsafe(`alter database "${building}" rename to "${template}"`)
        return template
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error
        await Bun.sleep(100)
      }
    }
  } finally {
    await admin`select pg_advisory_unlock(${TEMPLATE_LOCK_ID})`
  }
}

export type TestDatabase<TSchema extends Record<string, unknown>> = Database<TSchema> & {
  /** The connection URL when on a real server (for processes and second replicas). */
  url?: string
}

export async function createTestDatabase<TSchema extends Record<string, unknown>>(options: {
  service: string
  schema: TSchema
  migrationsFolder: string
}): Promise<TestDatabase<TSchema>> {
  if (!testDatabaseUrl) return pooledPglite(options)
  const name = `test_${options.service}_${randomBytes(6).toString('hex')}`
  const admin = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} })
  try {
    const template = await serverTemplate(admin, options)
    await admin.unsafe(`create database "${name}" template "${template}"`)
  } finally {
    await admin.end()
  }
  const url = urlOf(name)
  const db = await openDatabase({ ...options, url, poolSize: 20 })
  return {
    ...db,
    url,
    close: async () => {
      await db.close()
      const cleanup = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} })
      await cleanup.unsafe(`drop database if exists "${name}" with (force)`)
      await cleanup.end()
    },
  }
}
