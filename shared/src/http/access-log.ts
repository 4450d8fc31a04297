import type { Elysia } from 'elysia'
import type { Logger } from '../log'
import { requestMeta } from './request-id'

/** Called once per answered request (metrics): `route` is the route template, `unmatched` for no route. */
export type ObserveRequest = (method: string, route: string, status: number, seconds: number) => void

/**
 * Paths polled by machines (probes, scrapes, an open tracking page asking for news): their
 * successful requests (2xx, and 304 Not Modified) are logged at debug, not info.
 */
const POLLED_PATHS = /^\/(health|metrics)(\/|$)|^\/track\/[^/]+\/status$/

/**
 * One log line per answered request (request id, method, path, status, duration, problem code)
 * at info, or at debug for successful health probes and metric scrapes; `observe` (metrics) is
 * called for each request. After `requestIds`.
 *
 * It wraps the app's `handle` (what `serveApp` and the tests call) rather than adding an
 * `onAfterResponse` hook: Elysia runs those through a `setImmediate` per request, measured at
 * ~8 % of a catalogue read's CPU. The route template is noted by a transform (none runs when no
 * route matched: `unmatched`).
 */
export function accessLog(logger: Logger, options: { observe?: ObserveRequest } = {}) {
  const observe = options.observe
  return (app: Elysia) => {
    const routed = app.onTransform({ as: 'global' }, ({ request, route }) => {
      const meta = requestMeta(request)
      if (meta) meta.route = route
    })
    const handle = routed.handle
    routed.handle = async (request: Request) => {
      const response = await handle(request)
      const meta = requestMeta(request)
      if (!meta) return response
      const info = logger.enabled('info')
      if (!info && !observe) return response
      const status = response.status
      const ms = performance.now() - meta.start
      observe?.(request.method, meta.route || 'unmatched', status, ms / 1000)
      if (!info) return response
      const path = new URL(request.url).pathname
      // Probes, scrapes and polls (/health every few seconds, /metrics, a tracking page's status) only
      // at debug while they answer 2xx or 304.
      const routine = (status < 300 || status === 304) && POLLED_PATHS.test(path)
      if (routine && !logger.enabled('debug')) return response
      const fields = {
        request_id: meta.id,
        method: request.method,
        path,
        status,
        duration_ms: Math.round(ms * 100) / 100,
        ...(meta.problem ? { problem: meta.problem } : {}),
      }
      if (routine) logger.debug('request', fields)
      else logger.info('request', fields)
      return response
    }
    return routed
  }
}
