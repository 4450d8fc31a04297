import { test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { type Database, openDatabase } from '@logistics/shared/db'
import postgres from 'postgres'

/**
 * Databases for tests. With `TEST_DATABASE_URL=postgres://…/<db>` each call creates a fresh,
 * migrated database on that server (dropped on close); without it, each call loads an in-memory
 * PGlite from the service's migrated template (shared by every test process: see shared/src/pglite.ts).
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

export type TestDatabase<TSchema extends Record<string, unknown>> = Database<TSchema> & {
  /** The connection URL when on a real server (for processes and second replicas). */
  url?: string
}

export async function createTestDatabase<TSchema extends Record<string, unknown>>(options: {
  service: string
  schema: TSchema
  migrationsFolder: string
}): Promise<TestDatabase<TSchema>> {
  if (!testDatabaseUrl) {
    return openDatabase({ ...options, url: 'memory://' })
  }
  const name = `test_${options.service}_${randomBytes(6).toString('hex')}`
  const admin = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  await admin.end()
  const url = new URL(testDatabaseUrl)
  url.pathname = `/${name}`
  const db = await openDatabase({ ...options, url: url.toString(), poolSize: 20 })
  return {
    ...db,
    url: url.toString(),
    close: async () => {
      await db.close()
      const cleanup = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} })
      await cleanup.unsafe(`drop database if exists "${name}" with (force)`)
      await cleanup.end()
    },
  }
}
