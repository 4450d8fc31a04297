import { describe, expect, test } from 'bun:test'
import type { Db } from '@logistics/shared/db'
import fc from 'fast-check'
import { databaseFingerprint, fingerprintDiff } from './fingerprint'
import { type BodyTemplate, brokenBody, brokenQuery, junkBody, junkPathSegment } from './generators'
import { type Answer, type HandlesRequests, send } from './http'
import { fillPath, type OpenApiRoute } from './openapi-routes'
import { errorViolation, refusalViolation } from './problem'

/** Path segments that URL parsing folds away (`/a/../b` is `/b`): sent with a broken body too, or in a GET. */
const DOT_SEGMENTS = ['..', '%2e%2e', '.%2E', '%2E.']

export type FuzzRequest = {
  /** What was broken, for the counterexample report. */
  broken: string[]
  method: string
  /** Path and query string. */
  url: string
  headers: Record<string, string>
  body?: string
}

export type FuzzOptions = {
  /** Values of the route's path parameters that exist (so a request fails for its broken part only). */
  pathValues: Record<string, string>
  /** A minimal valid body for routes that take one (required when the document says so). */
  template?: BodyTemplate
  /** Headers with credentials (none, junk, each role's). */
  auth: fc.Arbitrary<Record<string, string>>
}

/**
 * Requests to `route` with at least one part of its input broken, whenever the route has input:
 * a body derived from the template with a field broken, or raw junk for a body; a path
 * parameter that names nothing; a query parameter out of range. Junk extras (unknown query
 * parameters, odd `x-request-id`, a body the route ignores) may come on top. `broken` is empty
 * only for routes without any input, where a 2xx is fine.
 */
export function invalidRequest(route: OpenApiRoute, options: FuzzOptions): fc.Arbitrary<FuzzRequest> {
  if (route.hasBody && !options.template) throw new Error(`${route.key} takes a body: give it a template`)
  const canHaveBody = route.method !== 'GET' && route.method !== 'HEAD'
  type Part = { broken: string[]; pathValues: Record<string, string>; query?: string; body?: { body: string; contentType?: string } }

  const validBody = options.template ? { body: JSON.stringify(options.template.body), contentType: 'application/json' } : undefined
  const bodyBreakers: fc.Arbitrary<{ body: string; contentType?: string; what: string }>[] = []
  if (route.hasBody) {
    bodyBreakers.push(
      brokenBody(options.template!).map((b) => ({
        body: JSON.stringify(b),
        contentType: 'application/json',
        what: `body ${JSON.stringify(b).slice(0, 200)}`,
      })),
    )
    bodyBreakers.push(junkBody.map((j) => ({ ...j, what: `raw body (${j.contentType}) ${j.body.slice(0, 80)}` })))
  }
  const brokenBodyArb = bodyBreakers.length > 0 ? fc.oneof(...bodyBreakers) : undefined

  const modes: fc.Arbitrary<Part>[] = []
  if (brokenBodyArb)
    modes.push(
      brokenBodyArb.map((b) => ({ broken: [b.what], pathValues: options.pathValues, body: { body: b.body, contentType: b.contentType } })),
    )
  for (const name of route.pathParams) {
    const bodyForJunkPath: fc.Arbitrary<{ body: string; contentType?: string } | undefined> = !canHaveBody
      ? fc.constant(undefined)
      : route.hasBody
        ? fc.oneof(fc.constant(validBody), brokenBodyArb!)
        : fc.option(junkBody, { nil: undefined })
    modes.push(
      fc.tuple(junkPathSegment, bodyForJunkPath).map(([segment, body]) => ({
        broken: [`path {${name}} = ${segment.slice(0, 100)}`],
        pathValues: { ...options.pathValues, [name]: segment },
        body,
      })),
    )
    if (brokenBodyArb || !canHaveBody || !route.hasBody)
      modes.push(
        // A GET's folded URL is just another address (`/sellers/1/users/..` is `/sellers/1`, which an
        // admin may read): there only "no 5xx, errors as problem+json" holds.
        fc.tuple(fc.constantFrom(...DOT_SEGMENTS), route.hasBody ? brokenBodyArb! : fc.constant(undefined)).map(([segment, body]) => ({
          broken: route.method === 'GET' ? [] : [`path {${name}} = ${segment}`, ...(body ? ['body'] : [])],
          pathValues: { ...options.pathValues, [name]: segment },
          body,
        })),
      )
  }
  if (route.queryParams.length > 0)
    modes.push(
      fc
        .tuple(brokenQuery(route.queryParams), route.hasBody ? fc.oneof(fc.constant(validBody), brokenBodyArb!) : fc.constant(undefined))
        .map(([query, body]) => ({ broken: [`query ${query.slice(0, 200)}`], pathValues: options.pathValues, query, body })),
    )
  if (modes.length === 0)
    modes.push(
      fc
        .tuple(
          fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 30 })), { maxLength: 4 }),
          canHaveBody ? fc.option(junkBody, { nil: undefined }) : fc.constant(undefined),
        )
        .map(([pairs, body]) => ({
          broken: [],
          pathValues: options.pathValues,
          query: pairs.map(([k, v]) => `q_${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
          body,
        })),
    )

  const extraHeaders = fc.record(
    {
      'x-request-id': fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('../../etc', 'a b c', '')),
      accept: fc.constantFrom('*/*', 'text/html', 'application/xml', 'application/json', ''),
    },
    { requiredKeys: [] },
  )

  return fc.tuple(fc.oneof(...modes), options.auth, extraHeaders).map(([part, auth, extra]) => {
    const headers: Record<string, string> = { ...extra, ...auth }
    const body = canHaveBody ? part.body : undefined
    if (body?.contentType) headers['content-type'] = body.contentType
    const path = fillPath(route.path, part.pathValues)
    return {
      broken: part.broken,
      method: route.method,
      url: part.query ? `${path}?${part.query}` : path,
      headers,
      body: body?.body,
    }
  })
}

/** Sends a generated request to `route` and answers what is wrong with the answer, or null. */
async function checkInvalidRequest(
  app: HandlesRequests,
  route: OpenApiRoute,
  request: FuzzRequest,
): Promise<{ answer: Answer; violation: string | null }> {
  const answer = await send(app, request.method, request.url, { headers: request.headers, body: request.body })
  if (answer.status >= 500) return { answer, violation: `status ${answer.status}: ${answer.text.slice(0, 300)}` }
  // a dot segment can fold the path to `/`, whose GET redirects to the docs
  const folded = new URL(request.url, 'http://localhost').pathname === '/' && request.method === 'GET'
  if (folded)
    return {
      answer,
      violation: answer.status === 302 && answer.headers.get('location') === '/swagger' ? null : `GET / answered ${answer.status}`,
    }
  if (request.broken.length > 0) return { answer, violation: refusalViolation(answer, route) }
  return { answer, violation: answer.status >= 400 ? errorViolation(answer, route) : null }
}

/**
 * The junk-input property as bun tests: for every documented route, `numRuns` generated invalid
 * requests must each answer a 4xx problem+json, or the HTML page the route documents for that
 * status (see `checkInvalidRequest`), and the database must
 * be exactly as before. `context` is read when the tests run.
 */
export function junkInputProperty(options: {
  routes: OpenApiRoute[]
  requests: (route: OpenApiRoute) => fc.Arbitrary<FuzzRequest>
  numRuns: number
  context: () => { app: HandlesRequests; db: Db<any> }
  /** Tables a refused request may still write to by design (e.g. failed-login throttling counters). */
  bookkeepingTables?: string[]
}) {
  const bookkeeping = new Set(options.bookkeepingTables ?? [])
  describe('junk input answers 4xx problem+json and changes nothing', () => {
    for (const route of options.routes) {
      test(route.key, async () => {
        const { app, db } = options.context()
        const before = await databaseFingerprint(db)
        await fc.assert(
          fc.asyncProperty(options.requests(route), async (request) => {
            const { violation } = await checkInvalidRequest(app, route, request)
            if (violation) throw new Error(`${request.method} ${request.url.slice(0, 200)} [${request.broken.join('; ')}]: ${violation}`)
          }),
          { numRuns: options.numRuns },
        )
        expect(fingerprintDiff(before, await databaseFingerprint(db)).filter((d) => !bookkeeping.has(d.table))).toEqual([])
      })
    }
  })
}
