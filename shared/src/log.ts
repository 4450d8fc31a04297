/** One JSON object a line on stdout (errors on stderr); `LOG_LEVEL=silent` in tests. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export type Logger = {
  /** Whether lines of `level` are written (skip building them otherwise). */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

export function createLogger(service: string, level: LogLevel = 'info'): Logger {
  const min = ORDER[level]
  const write = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return
    const line = JSON.stringify({ time: new Date().toISOString(), level: lvl, service, msg, ...fields })
    if (lvl === 'error' || lvl === 'warn') process.stderr.write(line + '\n')
    else process.stdout.write(line + '\n')
  }
  return {
    enabled: (lvl) => ORDER[lvl] >= min,
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  }
}

export const silentLogger: Logger = createLogger('silent', 'silent')
