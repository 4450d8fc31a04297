import type { StartStep } from './db'
import { errorFields } from './db-errors'
import type { Logger } from './log'

const SOURCES = { existing: 'existing data', template: 'new, from the migrated template', new: 'new, from a new cluster' } as const

/**
 * One info line per start-up step of the database (what `bun run dev` shows as its progress):
 * `database ready` (PGlite: its data existing, new from the template, or new by initdb) and the
 * migrations (applied now, or already up to date), each with its duration.
 */
export const logStartStep =
  (logger: Logger) =>
  (s: StartStep): void => {
    if (s.step === 'database')
      logger.info('database ready', { database: s.database, ...(s.source && { data: SOURCES[s.source] }), ms: s.ms })
    else if (s.applied > 0) logger.info('migrations applied', { applied: s.applied, total: s.total, ms: s.ms })
    else logger.info('migrations: the schema is up to date', { total: s.total, ms: s.ms })
  }

/** Reads the configuration, or stops the process with the reason (no stack trace) and exit code 1. */
export function configOrExit<T>(service: string, load: () => T): T {
  try {
    return load()
  } catch (error) {
    console.error(`${service}: ${(error as Error).message}`)
    process.exit(1)
  }
}

/**
 * Opens the database, or stops the process with one line naming the reason (the host, never the
 * password; no stack trace) and exit code 1: the server stayed unreachable for
 * DATABASE_CONNECT_TIMEOUT_SECONDS, the PGlite folder is locked by another process, a migration failed.
 */
export async function databaseOrExit<T>(service: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open()
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.replace(/\/\/[^@\s/]*@/g, '//***@')
    console.error(`${service}: ${message}`)
    process.exit(1)
  }
}

/**
 * Graceful shutdown on SIGTERM and SIGINT: runs `stop` once (stop background work, let in-flight
 * requests finish, close the pool), then exits 0 (1 when a step failed).
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>) {
  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info('shutting down', { signal })
    try {
      await stop()
      process.exit(0)
    } catch (error) {
      logger.error('error during shutdown', { error: errorFields(error) })
      process.exit(1)
    }
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}
