import type { Logger } from './log'

/**
 * Database failures, classified and described without leaking data.
 *
 * drizzle 0.45 wraps a failed query in `DrizzleQueryError`, whose `message` (and so its `stack`)
 * embeds the SQL text and its bound parameters (emails, ids, hashes); the driver's error is its
 * `cause`. Postgres' own messages and details quote values too ("Key (email)=(…) already exists",
 * "invalid input syntax for type uuid: \"…\""). So database errors are logged by class, SQLSTATE,
 * constraint, table, column and stack frames only, never by message.
 */

/** The errors of `error`'s cause chain, outermost first (a few levels; cycles stop it). */
function chain(error: unknown): object[] {
  const found: object[] = []
  let e: unknown = error
  for (let i = 0; i < 5 && e && typeof e === 'object' && !found.includes(e); i++) {
    found.push(e)
    e = (e as { cause?: unknown }).cause
  }
  return found
}

const SQLSTATE = /^[0-9A-Z]{5}$/

/** Connection-level codes of the `postgres` driver and of Node/Bun sockets. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ConnectionRefused',
  'ConnectionClosed',
])

/**
 * SQLSTATEs meaning "the server is not there right now": class 08 (connection exception),
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or in
 * recovery), 53300 too_many_connections.
 */
const isUnavailableState = (code: string) =>
  code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300'

const codeOf = (e: object) => {
  const code = (e as { code?: unknown }).code ?? (e as { errno?: unknown }).errno
  return typeof code === 'string' ? code : undefined
}

/** True when `error` (or what it wraps) says the database is unreachable, restarting or shutting down. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of chain(error)) {
    // The embedded PGlite after close() (the process is shutting down).
    if ((e as Error).message === 'PGlite is closed') return true
    const code = codeOf(e)
    if (code === undefined) continue
    if (CONNECTION_CODES.has(code)) return true
    if (SQLSTATE.test(code) && isUnavailableState(code)) return true
  }
  return false
}

/** True when `error` came from the database layer (drizzle or a driver), so its message is not logged. */
function isDatabaseError(error: unknown): boolean {
  return chain(error).some(
    (e) =>
      className(e) === 'DrizzleQueryError' ||
      (e as Error).name === 'PostgresError' ||
      'query' in e ||
      'parameters' in e ||
      (typeof codeOf(e) === 'string' && (SQLSTATE.test(codeOf(e)!) || CONNECTION_CODES.has(codeOf(e)!))),
  )
}

/** The stack's frames without its first line (which repeats the message). */
const framesOf = (error: object) =>
  typeof (error as Error).stack === 'string'
    ? (error as Error)
        .stack!.split('\n')
        .filter((line) => /^\s+at /.test(line))
        .slice(0, 12)
        .map((l) => l.trim())
    : undefined

const stringField = (e: object, ...names: string[]) => {
  for (const name of names) {
    const value = (e as Record<string, unknown>)[name]
    if (typeof value === 'string' && value !== '') return value
  }
  return undefined
}

/** `name`, or the constructor's name when `name` was left as plain `Error` (drizzle's DrizzleQueryError). */
const className = (e: object) => {
  const name = (e as Error).name
  const ctor = e.constructor?.name
  return name && name !== 'Error' ? name : ctor && ctor !== 'Object' ? ctor : (name ?? 'Object')
}

export type ErrorFields = {
  /** Error class names along the cause chain, e.g. `DrizzleQueryError > PostgresError`. */
  class: string
  sqlstate?: string
  /** A driver/socket code such as ECONNREFUSED or CONNECTION_CLOSED. */
  code?: string
  constraint?: string
  table?: string
  column?: string
  /** Only for errors outside the database layer (our own code's bugs). */
  message?: string
  stack?: string[]
}

/**
 * What a log line may say about `error`: for database errors the class, SQLSTATE, driver code,
 * constraint, table and column and the stack frames, never a message (it holds the SQL and its
 * parameters, or quoted values); for other errors also the message.
 */
export function errorFields(error: unknown): ErrorFields {
  if (!error || typeof error !== 'object') return { class: typeof error, message: String(error) }
  const errors = chain(error)
  const fields: ErrorFields = { class: errors.map(className).join(' > ') }
  for (const e of errors) {
    const code = codeOf(e)
    if (code && SQLSTATE.test(code)) fields.sqlstate ??= code
    else if (code) fields.code ??= code
    fields.constraint ??= stringField(e, 'constraint_name', 'constraint')
    fields.table ??= stringField(e, 'table_name', 'table')
    fields.column ??= stringField(e, 'column_name', 'column')
  }
  if (!isDatabaseError(error)) fields.message = (error as Error).message
  // The innermost error's frames say where the driver failed; the outermost where our code called.
  fields.stack = framesOf(errors[0]!)
  return fields
}

/**
 * One log line per database outage for a background loop (the tick, the webhook dispatcher):
 * `failed(error)` logs "database unavailable" the first time and answers true for an outage
 * (false for other errors, which the caller logs itself); `succeeded()` logs once when it is back.
 */
export function outageTracker(logger: Logger, component: string) {
  let since: number | undefined
  return {
    failed(error: unknown): boolean {
      if (!isDatabaseUnavailable(error)) return false
      if (since === undefined) {
        since = Date.now()
        logger.warn('database unavailable; pausing until it answers', { component, ...errorFields(error), stack: undefined })
      }
      return true
    },
    succeeded() {
      if (since === undefined) return
      logger.info('database available again; resuming', { component, outage_ms: Date.now() - since })
      since = undefined
    },
    get down() {
      return since !== undefined
    },
  }
}

export type OutageTracker = ReturnType<typeof outageTracker>
