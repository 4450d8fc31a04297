import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { DrizzleQueryError } from 'drizzle-orm/errors'
import { openDatabase } from '../src/db'
import { errorFields, isDatabaseUnavailable, outageTracker } from '../src/db-errors'
import type { Logger } from '../src/log'

const DELIVERY_MIGRATIONS = join(import.meta.dir, '../../delivery/drizzle')
const pgError = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`server says something about "ada@example.com"`), { name: 'PostgresError', code, ...extra })
const wrapped = (cause: unknown) => new DrizzleQueryError('insert into users (email) values ($1)', ['ada@example.com'], cause as Error)

describe('isDatabaseUnavailable', () => {
  test.each(['57P01', '57P02', '57P03', '08006', '08001', '08003', '53300'])('SQLSTATE %s, bare or wrapped by drizzle', (code) => {
    expect(isDatabaseUnavailable(pgError(code))).toBe(true)
    expect(isDatabaseUnavailable(wrapped(pgError(code)))).toBe(true)
  })
  test.each(['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT'])(
    'driver code %s',
    (code) => {
      expect(isDatabaseUnavailable(wrapped(Object.assign(new Error('write CONNECTION_CLOSED db:5432'), { code })))).toBe(true)
    },
  )
  test('a closed PGlite', () => expect(isDatabaseUnavailable(wrapped(new Error('PGlite is closed')))).toBe(true))
  test.each(['23505', '23503', '42P01', '40001', '22P02'])('not for SQLSTATE %s (a bug or a conflict, not an outage)', (code) => {
    expect(isDatabaseUnavailable(wrapped(pgError(code)))).toBe(false)
  })
  test('not for other errors', () => {
    expect(isDatabaseUnavailable(new TypeError('x is undefined'))).toBe(false)
    expect(isDatabaseUnavailable(undefined)).toBe(false)
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false)
  })
})

describe('errorFields', () => {
  test('a database error: class, SQLSTATE, constraint and table; no SQL, parameters or message', () => {
    const error = wrapped(
      pgError('23505', {
        constraint_name: 'users_email_key',
        table_name: 'users',
        detail: 'Key (email)=(ada@example.com) already exists.',
      }),
    )
    const fields = errorFields(error)
    expect(fields).toMatchObject({
      class: 'DrizzleQueryError > PostgresError',
      sqlstate: '23505',
      constraint: 'users_email_key',
      table: 'users',
    })
    const line = JSON.stringify(fields)
    expect(line).not.toContain('ada@example.com')
    expect(line).not.toContain('insert into')
    expect(fields.stack?.length).toBeGreaterThan(0)
  })
  test('PGlite spells the constraint `constraint` and the table `table`', () => {
    expect(errorFields(wrapped(Object.assign(new Error('m'), { code: '23503', constraint: 'fk_x', table: 'orders' })))).toMatchObject({
      sqlstate: '23503',
      constraint: 'fk_x',
      table: 'orders',
    })
  })
  test('a driver error keeps its code', () => {
    expect(errorFields(wrapped(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' })))).toMatchObject({
      code: 'ECONNREFUSED',
    })
  })
  test('other errors keep their message (our own bugs)', () => {
    expect(errorFields(new TypeError('x is undefined'))).toMatchObject({ class: 'TypeError', message: 'x is undefined' })
  })
  test('a real drizzle query error', async () => {
    // An in-memory PGlite (loaded from the delivery service's migrated template: no initdb).
    const database = await openDatabase({ url: 'memory://', service: 'delivery', schema: {}, migrationsFolder: DELIVERY_MIGRATIONS })
    const error: Error = await database.db.execute(sql`select ${'ada@example.com'}::uuid`).then(
      () => new Error('no error'),
      (e: Error) => e,
    )
    await database.close()
    expect(String(error.message)).toContain('ada@example.com') // what drizzle would have leaked
    const line = JSON.stringify(errorFields(error))
    expect(line).toContain('22P02')
    expect(line).not.toContain('ada@example.com')
    expect(line).not.toContain('select')
  })
})

describe('outageTracker', () => {
  test('one line when an outage starts, one when it ends, none per failure in between', () => {
    const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = []
    const logger = Object.fromEntries(
      (['debug', 'info', 'warn', 'error'] as const).map((level) => [
        level,
        (msg: string, fields?: Record<string, unknown>) => lines.push({ level, msg, fields }),
      ]),
    ) as unknown as Logger
    const outage = outageTracker(logger, 'status tick')
    outage.succeeded()
    expect(lines).toHaveLength(0)
    for (let i = 0; i < 20; i++) expect(outage.failed(wrapped(pgError('57P01')))).toBe(true)
    expect(outage.failed(wrapped(pgError('23505')))).toBe(false) // not an outage: the caller logs it
    outage.succeeded()
    outage.succeeded()
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'database unavailable; pausing until it answers'],
      ['info', 'database available again; resuming'],
    ])
    expect(lines[0]!.fields).toMatchObject({ component: 'status tick', sqlstate: '57P01' })
    expect(JSON.stringify(lines)).not.toContain('ada@example.com')
  })
})
