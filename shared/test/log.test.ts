import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { httpBasics } from '../src/http/basics'
import { chooseLogFormat, createLogger, type LogFormat, type LogLevel } from '../src/log'

/** A logger writing into arrays: `out` (debug, info) and `err` (warn, error). */
function capture(level: LogLevel, options: { format?: LogFormat; production?: boolean } = {}) {
  const out: string[] = []
  const err: string[] = []
  const logger = createLogger('svc', level, {
    ...options,
    colorize: false,
    out: { write: (line: string) => out.push(line) },
    err: { write: (line: string) => err.push(line) },
  })
  return { logger, out, err, json: () => out.map((l) => JSON.parse(l)) }
}

describe('JSON lines (the default off a terminal, always in production)', () => {
  test('one object a line: ISO time, level by name, service, msg and the fields; warnings and errors on stderr', () => {
    const { logger, out, err, json } = capture('info', { format: 'json' })
    logger.info('request', { request_id: 'r-1', status: 200 })
    logger.debug('hidden')
    logger.warn('careful', { n: 1 })
    logger.error('broken')
    expect(out).toHaveLength(1)
    expect(out[0]!.endsWith('\n')).toBe(true)
    const [line] = json()
    expect(line).toEqual({ time: expect.any(String), level: 'info', service: 'svc', msg: 'request', request_id: 'r-1', status: 200 })
    expect(new Date(line.time).toISOString()).toBe(line.time)
    expect(err.map((l) => JSON.parse(l)).map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'careful'],
      ['error', 'broken'],
    ])
  })

  test('enabled() follows the level; silent writes nothing; a child adds its fields', () => {
    const { logger } = capture('warn', { format: 'json' })
    expect([logger.enabled('debug'), logger.enabled('info'), logger.enabled('warn'), logger.enabled('error')]).toEqual([
      false,
      false,
      true,
      true,
    ])
    const silent = capture('silent', { format: 'json' })
    silent.logger.error('nothing')
    expect([silent.out, silent.err, silent.logger.enabled('error')]).toEqual([[], [], false])
    const info = capture('info', { format: 'json' })
    info.logger.child({ request_id: 'c-1' }).info('from the child')
    expect(info.json()[0]).toMatchObject({ request_id: 'c-1', msg: 'from the child', service: 'svc' })
  })

  test('the format: JSON when not a terminal and always in production; readable at a terminal; LOG_FORMAT decides otherwise', () => {
    expect(chooseLogFormat({ isTTY: false })).toBe('json')
    expect(chooseLogFormat({ isTTY: true })).toBe('pretty')
    expect(chooseLogFormat({ isTTY: true, production: true })).toBe('json')
    expect(chooseLogFormat({ format: 'pretty', production: true })).toBe('json')
    expect(chooseLogFormat({ format: 'pretty', isTTY: false })).toBe('pretty')
    expect(chooseLogFormat({ format: 'json', isTTY: true })).toBe('json')
    const prod = capture('info', { format: 'pretty', production: true })
    prod.logger.info('still json')
    expect(prod.json()[0]).toMatchObject({ level: 'info', msg: 'still json' })
  })
})

describe('readable lines (a terminal, bun run dev)', () => {
  test('time, level, service and message on one line; a request reads as method, path, status, duration', () => {
    const { logger, out, err } = capture('info', { format: 'pretty' })
    logger.info('request', { request_id: 'r-9', method: 'GET', path: '/products', status: 200, duration_ms: 3.25 })
    logger.info('tick', { moved: 4, webhook_events: 8 })
    logger.warn('webhook given up', { event_id: 7 })
    expect(out).toHaveLength(2)
    expect(out[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(svc\): GET \/products 200 3\.25 ms \{"request_id":"r-9"\}\n$/)
    expect(out[1]).toMatch(/^\[[\d:.]+\] INFO \(svc\): tick \{"moved":4,"webhook_events":8\}\n$/)
    expect(err[0]).toMatch(/^\[[\d:.]+\] WARN \(svc\): webhook given up \{"event_id":7\}\n$/)
  })
})

describe('the access log', () => {
  const app = (level: LogLevel) => {
    const c = capture(level, { format: 'json' })
    const elysia = new Elysia()
      .use(httpBasics(c.logger))
      .get('/health', () => ({ status: 'ok' }))
      .get('/health/live', () => ({ status: 'ok' }))
      .get('/metrics', () => 'up 1')
      .get('/products', () => [])
      .get('/track/:tn/status', ({ request }) =>
        request.headers.get('if-none-match') ? new Response(null, { status: 304 }) : { status: 'IN_ORIGIN' },
      )
      .get('/track/:tn', () => 'page')
    const call = async (path: string, headers: Record<string, string> = {}) => {
      await elysia.handle(new Request(`http://localhost${path}`, { headers }))
      await Bun.sleep(10) // the line is written after the response
    }
    return { ...c, call }
  }

  test('health probes, metric scrapes and tracking-page polls that succeed are not logged at info; other requests are', async () => {
    const a = app('info')
    await a.call('/health')
    await a.call('/health/live')
    await a.call('/metrics')
    await a.call('/products')
    await a.call('/healthz') // not a probe path: a 404 like any other
    // an open tracking page polls its status (200 or 304); the page itself is a person's request
    await a.call('/track/TRK-1/status')
    await a.call('/track/TRK-1/status', { 'if-none-match': '"x"' })
    await a.call('/track/TRK-1')
    expect(a.json().map((l) => [l.msg, l.path, l.status])).toEqual([
      ['request', '/products', 200],
      ['request', '/healthz', 404],
      ['request', '/track/TRK-1', 200],
    ])
  })

  test('at debug the probes are logged too, at debug level', async () => {
    const a = app('debug')
    await a.call('/health')
    await a.call('/products')
    expect(a.json().map((l) => [l.level, l.path])).toEqual([
      ['debug', '/health'],
      ['info', '/products'],
    ])
  })
})
