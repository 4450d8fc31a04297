import { createHash, timingSafeEqual } from 'node:crypto'
import { Elysia } from 'elysia'
import { Histogram, Registry } from 'prom-client'
import type { ObserveRequest } from './http/access-log'
import { bearerAuth, withoutDatabase } from './http/openapi'
import { COMMON_PROBLEMS, HttpProblem, problemResponses, unauthorized } from './problem'

/**
 * Prometheus metrics through prom-client, one `Registry` per app instance (tests build many apps
 * in one process; the global registry would refuse the second "already registered" metric).
 */
export { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** A registry whose every series carries `service`. */
export function createRegistry(service: string): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  return registry
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/**
 * `http_request_duration_seconds{method,route,status}`: `route` is the route template
 * (`/orders/:id`, `unmatched` without a route), so the label set stays bounded whatever paths
 * clients send. The hot path is one Map lookup and one `observe` on a cached child.
 */
export function httpRequestMetrics(registry: Registry): ObserveRequest {
  const histogram = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status, and how long they took',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const children = new Map<string, { observe(value: number): void }>()
  return (rawMethod, route, status, seconds) => {
    const method = METHODS.has(rawMethod) ? rawMethod : 'other'
    const key = `${method} ${route} ${status}`
    let child = children.get(key)
    if (!child) {
      child = histogram.labels({ method, route, status: String(status) })
      children.set(key, child)
    }
    child.observe(seconds)
  }
}

export type MetricsAccess = {
  /** Bearer token required for GET /metrics (`METRICS_TOKEN`). */
  token?: string
  /** In production without a token, /metrics is not served (404). */
  production?: boolean
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/**
 * GET /metrics in the Prometheus text format: with a token, only for `Authorization: Bearer
 * <token>` (401 problem+json otherwise); without one, open in development and absent (404) in
 * production.
 */
export function metricsRoutes(registry: Registry, access: MetricsAccess) {
  const expected = access.token ? digest(access.token) : undefined
  return new Elysia({ name: 'metrics' }).get(
    '/metrics',
    async ({ request }) => {
      if (!expected) {
        if (access.production) throw new HttpProblem(404, 'not-found', 'No route for GET /metrics')
      } else {
        const given = request.headers.get('authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1]
        if (!given || !timingSafeEqual(digest(given), expected))
          throw unauthorized('Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>"')
      }
      return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } })
    },
    {
      // Not served in production without a token (with one, a wrong token is the 401 of any bearer route).
      response: access.production && !expected ? problemResponses(COMMON_PROBLEMS)('not-found') : {},
      detail: {
        tags: ['health'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        description:
          'Prometheus text format. With METRICS_TOKEN set, send `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise); without it, open in development and not served (404) in production.',
        ...(expected ? { security: bearerAuth() } : {}),
        responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        ...withoutDatabase,
      },
    },
  )
}
