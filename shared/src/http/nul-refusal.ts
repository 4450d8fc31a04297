import { Elysia } from 'elysia'
import { HttpProblem } from '../problem'

/** Strings PostgreSQL cannot store: U+0000, or an unpaired UTF-16 surrogate (jsonb refuses it, text turns it into U+FFFD). */
const notText = (s: string) => s.includes('\u0000') || !s.isWellFormed()

/**
 * Dotted paths of the strings (keys or values) in `value` that PostgreSQL cannot store: those that
 * contain U+0000 or an unpaired UTF-16 surrogate (`"\ud800"` is valid JSON).
 */
export function nulPaths(value: unknown, path = '', depth = 0): string[] {
  if (typeof value === 'string') return notText(value) ? [path] : []
  if (value === null || typeof value !== 'object' || depth > 64) return []
  const found: string[] = []
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key
    if (notText(key)) found.push(at)
    found.push(...nulPaths(item, at, depth + 1))
  }
  return found
}

export const NOT_TEXT_MESSAGE = 'must not contain the character U+0000 or an unpaired surrogate (\\uD800-\\uDFFF)'

const queryRefusals = new WeakMap<Request, HttpProblem>()

/** Why the query string was refused (a NUL or unpaired surrogate), when it was; see `nulRefusal`. */
export const queryRefusalOf = (request: Request): HttpProblem | undefined => queryRefusals.get(request)

/** What a refused query value becomes: no query schema accepts a symbol, so validation fails. */
const REFUSED_QUERY_VALUE: unique symbol = Symbol('refused query value')

const ownPathChecks = new Set<string>()

/**
 * Route templates (`/track/:tracking_number`) whose handler checks its path parameters itself and
 * answers a bad one in its own way (the public tracking page: one HTML 404 for every number that
 * shows no parcel, malformed or not): the NUL refusal leaves their path parameters to them. Such a
 * handler must refuse a NUL or an unpaired surrogate before it reaches a query.
 */
export function checksOwnPathParams(...paths: string[]) {
  for (const path of paths) ownPathChecks.add(path)
}

/**
 * A NUL or an unpaired surrogate reaching a query fails it (a 500) or is silently changed. Refuses
 * it up front in any path parameter (404, like other bad ids). In a query value (422) the refusal is
 * deferred like `jsonBody`'s: the value becomes a symbol that the route's query validation refuses,
 * answered with this refusal, so credentials (checked before validation) still come first. JSON
 * bodies are checked by `jsonBody`.
 */
export function nulRefusal() {
  return new Elysia({ name: 'nul-refusal' }).onTransform({ as: 'global' }, ({ request, params, query, body, route }) => {
    // A path or query of printable ASCII without `%` holds neither (the common case, not checked further).
    if (!PLAIN_URL.test(request.url)) refuseInUrl(request, ownPathChecks.has(route) ? {} : params, query)
    const errors = typeof body === 'object' ? nulPaths(body).map((path) => ({ path: path || '(root)', message: NOT_TEXT_MESSAGE })) : []
    if (errors.length > 0) throw new HttpProblem(422, 'validation-failed', 'The request has invalid fields', { errors })
  })
}

/** Printable ASCII without `%`: a URL whose path and query decode to exactly these characters. */
const PLAIN_URL = /^[\x21-\x24\x26-\x7e]*$/

function refuseInUrl(request: Request, params: Record<string, string | undefined>, query: Record<string, unknown>) {
  if (nulPaths(params).length > 0) throw new HttpProblem(404, 'not-found', 'No such resource')
  const bad = nulPaths(query, 'query')
  if (bad.length === 0) return
  queryRefusals.set(
    request,
    new HttpProblem(422, 'validation-failed', 'The request has invalid fields', {
      errors: bad.map((path) => ({ path, message: NOT_TEXT_MESSAGE })),
    }),
  )
  for (const key of Object.keys(query)) if (nulPaths({ [key]: query[key] }).length > 0) query[key] = REFUSED_QUERY_VALUE
}
