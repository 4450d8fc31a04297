import { Elysia } from 'elysia'
import type { Logger } from '../log'
import { requestMeta } from './request-id'

/** Called once per answered request (metrics): `route` is the route template, `unmatched` for no route. */
export type ObserveRequest = (method: string, route: string, status: number, seconds: number) => void

/** Paths polled by machines: their successful requests are logged at debug, not info. */
const POLLED_PATHS = /^\/(health|metrics)(\/|$)/

/**
 * One log line per answered request (request id, method, path, status, duration, problem code)
 * at info, or at debug for successful health probes and metric scrapes; `observe` (metrics) is
 * called for each request. After `requestIds`.
 */
export function accessLog(logger: Logger, options: { observe?: ObserveRequest } = {}) {
  const observe = options.observe
  return new Elysia({ name: 'access-log' }).onAfterResponse({ as: 'global' }, ({ request, set, responseValue, route }) => {
    const info = logger.enabled('info')
    if (!info && !observe) return
    const meta = requestMeta(request)
    const status =
      meta?.status ?? (responseValue instanceof Response ? responseValue.status : typeof set.status === 'number' ? set.status : 200)
    const ms = meta ? performance.now() - meta.start : undefined
    if (observe && ms !== undefined) observe(request.method, route || 'unmatched', status, ms / 1000)
    if (!info) return
    const path = new URL(request.url).pathname
    // Probes and scrapes (/health every few seconds, /metrics) only at debug while they answer 2xx.
    const routine = status < 300 && POLLED_PATHS.test(path)
    if (routine && !logger.enabled('debug')) return
    const fields = {
      request_id: meta?.id,
      method: request.method,
      path,
      status,
      duration_ms: ms === undefined ? undefined : Math.round(ms * 100) / 100,
      ...(meta?.problem ? { problem: meta.problem } : {}),
    }
    if (routine) logger.debug('request', fields)
    else logger.info('request', fields)
  })
}
