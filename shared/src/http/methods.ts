import type { Elysia } from 'elysia'
import { problemBody, problemResponse } from '../problem'
import { requestIdOf } from './request-id'

type Route = { method: string; path: string }

/** A route path (`/orders/:id/confirm`, `/swagger/*`) as a regular expression over a pathname. */
function pathPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/')
  return new RegExp(`^${source}/?$`)
}

/**
 * 405 for a known path asked with a method it does not have: problem+json with `Allow` listing the
 * path's methods, derived from the app's own routes (so new routes are covered). Use it on the
 * root app, before `httpBasics` (whose 404 it turns into a 405 where the path exists).
 */
export function methodNotAllowed(app: Elysia) {
  let known: { routes: number; table: { method: string; pattern: RegExp }[] } | undefined
  const table = () => {
    const routes = app.routes as Route[]
    if (known?.routes !== routes.length)
      known = { routes: routes.length, table: routes.map((r) => ({ method: r.method.toUpperCase(), pattern: pathPattern(r.path) })) }
    return known.table
  }
  return app.onError({ as: 'global' }, ({ code, request }) => {
    if (code !== 'NOT_FOUND') return
    const { pathname } = new URL(request.url)
    const allowed = [
      ...new Set(
        table()
          .filter((r) => r.pattern.test(pathname))
          .map((r) => r.method),
      ),
    ]
    if (allowed.length === 0 || allowed.includes(request.method) || allowed.includes('ALL')) return
    // HEAD is answered wherever GET is
    if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.push('HEAD')
    return problemResponse(
      problemBody(405, 'method-not-allowed', `${request.method} is not allowed on ${pathname}; use ${allowed.join(', ')}`),
      { allow: allowed.join(', '), 'x-request-id': requestIdOf(request) },
    )
  })
}
