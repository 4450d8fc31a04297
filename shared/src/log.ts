/**
 * Logs through pino: one JSON object a line (`time`, `level`, `service`, `msg`, then the fields;
 * warnings and errors on stderr, the rest on stdout), or, for a person at a terminal, one readable
 * line each (pino-pretty's formatter, called synchronously: no worker, no stream pipeline).
 * `LOG_LEVEL=silent` in tests.
 */
import pino from 'pino'

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]
export const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export type Logger = {
  /** Whether lines of `level` are written (skip building them otherwise). */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger
}

/**
 * The format to write: JSON always in production, else as asked (`LOG_FORMAT`), else readable
 * lines when stdout is a terminal and JSON when it is not (a pipe, a file, a log collector).
 */
export function chooseLogFormat(options: { format?: LogFormat; production?: boolean; isTTY?: boolean }): LogFormat {
  if (options.production) return 'json'
  return options.format ?? (options.isTTY ? 'pretty' : 'json')
}

/** Where lines go: anything with `write(line)`. */
type LogDestination = { write(line: string): unknown }

export type LoggerOptions = {
  /** Default: chosen by `chooseLogFormat` from `production` and whether stdout is a terminal. */
  format?: LogFormat
  production?: boolean
  /**
   * Default stdout for debug and info, stderr for warn and error: Bun's buffered process streams
   * (pino's synchronous file-descriptor writer stalls on a full pipe: 20× slower measured here).
   */
  out?: LogDestination
  err?: LogDestination
  /** Colours in readable lines (default: what the terminal supports; FORCE_COLOR / NO_COLOR apply). */
  colorize?: boolean
}

const REQUEST_FIELDS = ['method', 'path', 'status', 'duration_ms'] as const

/**
 * A readable line: `[12:04:05.123] INFO (delivery): GET /products 200 3.1 ms {"request_id":"…"}` —
 * the access log's method, path, status and duration read as a sentence, other fields as JSON (an
 * `error` field, with its stack, on the lines below).
 */
function prettyStream(destination: LogDestination, colorize: boolean | undefined) {
  // Loaded only for readable lines (a terminal): ~4 MB a JSON-logging service does not carry.
  const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty')
  const prettify = prettyFactory({
    ...(colorize !== undefined && { colorize }),
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: ['pid', 'hostname', ...REQUEST_FIELDS].join(','),
    messageFormat: (log, messageKey) => {
      const msg = String(log[messageKey] ?? '')
      if (log.method === undefined || log.path === undefined) return msg
      const what = `${log.method} ${log.path}${log.status !== undefined ? ` ${log.status}` : ''}${log.duration_ms !== undefined ? ` ${log.duration_ms} ms` : ''}`
      return msg === 'request' ? what : `${msg}: ${what}`
    },
  })
  return { write: (line: string) => destination.write(prettify(line)) }
}

function wrap(p: pino.Logger): Logger {
  return {
    enabled: (level) => p.isLevelEnabled(level),
    debug: (msg, fields) => (fields ? p.debug(fields, msg) : p.debug(msg)),
    info: (msg, fields) => (fields ? p.info(fields, msg) : p.info(msg)),
    warn: (msg, fields) => (fields ? p.warn(fields, msg) : p.warn(msg)),
    error: (msg, fields) => (fields ? p.error(fields, msg) : p.error(msg)),
    child: (fields) => wrap(p.child(fields)),
  }
}

export function createLogger(service: string, level: LogLevel = 'info', options: LoggerOptions = {}): Logger {
  if (level === 'silent') return silentLogger
  const format = chooseLogFormat({ format: options.format, production: options.production, isTTY: process.stdout.isTTY === true })
  const out = options.out ?? process.stdout
  const err = options.err ?? process.stderr
  const toOut = format === 'pretty' ? prettyStream(out, options.colorize) : out
  const toErr = format === 'pretty' ? prettyStream(err, options.colorize) : err
  // warn (40) and up to stderr: pino tells a stream asking for metadata each line's level.
  const streams = {
    [pino.symbols.needsMetadataGsym]: true as const,
    lastLevel: 0,
    write(line: string) {
      return (this.lastLevel >= 40 ? toErr : toOut).write(line)
    },
  }
  return wrap(
    pino(
      {
        level,
        // pino-pretty shows `name` as `INFO (delivery):`; JSON lines carry `service`.
        base: format === 'json' ? { service } : { name: service },
        // JSON keeps the shape log collectors already read: ISO time and the level by name.
        ...(format === 'json' && {
          timestamp: pino.stdTimeFunctions.isoTime,
          formatters: { level: (label: string) => ({ level: label }) },
        }),
      },
      streams,
    ),
  )
}

const noop = () => {}
export const silentLogger: Logger = {
  enabled: () => false,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
}
