import type { Elysia } from 'elysia'
import { HttpProblem } from '../problem'
import { bodyTooLarge, isOversized, MAX_BODY_BYTES, markOversized } from './body-limit'
import { NOT_TEXT_MESSAGE, nulPaths } from './nul-refusal'

/** JSON bodies nested deeper than this (objects and arrays) are refused before they are parsed. */
const MAX_JSON_DEPTH = 32

const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json$/i

/**
 * Whether `text`, read as JSON, opens more than `max` objects/arrays at once. One pass over the
 * characters (strings skipped), no allocation: it answers in well under a millisecond for a 1 MB
 * body, where parsing and validating a 20 000-deep body took seconds and gigabytes.
 */
export function jsonDepthExceeds(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--
  }
  return false
}

/** The body's text as received (absent when it was never read), and why it was refused. */
type BodyState = { raw?: string; refusal?: HttpProblem }
const bodies = new WeakMap<Request, BodyState>()

/** The exact text of the request body as received (for signature checks), when it had one. */
export const rawBodyOf = (request: Request): string | undefined => bodies.get(request)?.raw

/** Why the request body was refused (415 / 400), when it was; see `jsonBody`. */
export const bodyRefusalOf = (request: Request): HttpProblem | undefined => bodies.get(request)?.refusal

/**
 * What a refused body becomes: no object schema accepts a symbol, so a route that takes a body
 * fails its validation, which `problemErrors` answers with the refusal (`bodyRefusalOf`).
 */
const REFUSED_BODY: unique symbol = Symbol('refused body')

/**
 * Refuses the request's body, deferred: what a parser returns for it (REFUSED_BODY), the refusal
 * answered once the route's credentials are checked.
 */
function refuseBody(request: Request, refusal: HttpProblem): typeof REFUSED_BODY {
  bodies.set(request, { refusal })
  return REFUSED_BODY
}

/** Bytes of request bodies one process reads at once, unless the service says otherwise (`jsonBody`'s `bytesInFlight`). */
const DEFAULT_BODY_BYTES_IN_FLIGHT = 64 * 1024 * 1024

/** Seconds a client is asked to wait when the process is receiving all the bodies it may at once. */
const BODIES_BUSY_RETRY_AFTER_SECONDS = 1

/**
 * The routes of `app` whose OpenAPI operation has bearer `security` (the services' auth macros
 * set it, so the document and this rule cannot disagree), as `METHOD path`; rebuilt when routes
 * are added.
 */
function securedRoutes(app: Elysia) {
  let known: { count: number; keys: Set<string> } | undefined
  return (method: string, route: string) => {
    const routes = app.routes as { method: string; path: string; hooks?: { detail?: { security?: unknown[] } } }[]
    if (known?.count !== routes.length)
      known = {
        count: routes.length,
        keys: new Set(routes.filter((r) => (r.hooks?.detail?.security?.length ?? 0) > 0).map((r) => `${r.method.toUpperCase()} ${r.path}`)),
      }
    return known.keys.has(`${method} ${route}`)
  }
}

/**
 * The request's body as text, at most MAX_BODY_BYTES: a declared length over it is never read,
 * a streamed (chunked) body is read until it passes it (then cancelled). Undefined when too large.
 */
async function readText(request: Request): Promise<string | undefined> {
  if (isOversized(request)) return undefined
  if (request.headers.has('content-length') || !request.body) return request.text()
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {})
      markOversized(request)
      return undefined
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}

/**
 * Every request body is JSON: one global parser reads the text, and refuses a content type other
 * than JSON (415), a charset other than UTF-8 (415), nesting deeper than MAX_JSON_DEPTH (400),
 * and malformed JSON (400) — before `JSON.parse` or any validation runs.
 *
 * Nothing is read before it may be:
 *  - **credentials first**: on a route that needs credentials (bearer `security` in its OpenAPI
 *    operation), `authenticate` (the service's own, memoized per request, so the route's auth
 *    macro reuses the answer) runs before any byte of the body is read; without valid
 *    credentials the body is never read and the route answers 401 (or whatever the check threw).
 *    A route whose credentials cover the body (a signed webhook) names in `beforeBody` what can
 *    be checked without it (its headers): a problem there refuses the body unread;
 *  - **bounded**: a body over MAX_BODY_BYTES is not read past it (413);
 *  - **bounded in total**: at most `bytesInFlight` bytes of bodies are being read at once in this
 *    process (a declared body counts its length, a streamed one the 1 MB it may reach); past it a
 *    body is not read and the request answers 503 `request-bodies-busy` with `Retry-After`.
 *
 * Every refusal is deferred: the body becomes REFUSED_BODY and the route's validation answers it,
 * so the credentials check (in the auth macros' transform, before validation) still comes first,
 * and a route that takes no body ignores one. Public routes (login, registration, the signed
 * webhook receiver, once its headers pass `beforeBody`) read bodies within the same bounds.
 */
export function jsonBody(
  options: {
    authenticate?: (request: Request) => Promise<unknown>
    /** Checks run before the body of `METHOD /route` is read (`POST /webhooks/delivery`): a problem refuses it unread. */
    beforeBody?: Record<string, (request: Request) => HttpProblem | undefined>
    bytesInFlight?: number
  } = {},
) {
  const limit = options.bytesInFlight ?? DEFAULT_BODY_BYTES_IN_FLIGHT
  let inFlight = 0
  return (app: Elysia) => {
    const secured = securedRoutes(app)
    return app.onParse({ as: 'global' }, async ({ request, contentType: given, route }) => {
      if (options.authenticate && secured(request.method, route)) {
        const allowed = await options.authenticate(request).then(
          () => true,
          () => false,
        )
        // The route's own check throws the same (memoized) error in its transform stage.
        if (!allowed) return refuseBody(request, new HttpProblem(401, 'unauthorized', 'Missing or invalid credentials'))
      }
      const early = options.beforeBody?.[`${request.method} ${route}`]?.(request)
      if (early) return refuseBody(request, early)
      if (isOversized(request)) return refuseBody(request, bodyTooLarge())
      const declared = Number(request.headers.get('content-length') ?? Number.NaN)
      const reserved = request.body ? (Number.isFinite(declared) ? declared : MAX_BODY_BYTES) : 0
      if (reserved > 0 && inFlight + reserved > limit)
        return refuseBody(
          request,
          new HttpProblem(
            503,
            'request-bodies-busy',
            'The service is receiving as many request bodies as it may at once; send this one again shortly',
            {},
            { 'retry-after': String(BODIES_BUSY_RETRY_AFTER_SECONDS) },
          ),
        )
      inFlight += reserved
      let raw: string | undefined
      try {
        raw = await readText(request)
      } finally {
        inFlight -= reserved
      }
      if (raw === undefined) return refuseBody(request, bodyTooLarge())
      return parseJsonBody(request, raw, given.trim())
    })
  }
}

/** The checks of `jsonBody` on a body read as `raw`: its parsed value, or REFUSED_BODY with the reason noted. */
function parseJsonBody(request: Request, raw: string, contentType: string) {
  if (raw === '' && !contentType) return undefined
  const state: BodyState = { raw }
  bodies.set(request, state)
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers.get('content-type') ?? '')?.[1]
  if (!JSON_TYPE.test(contentType) || (charset && charset.toLowerCase() !== 'utf-8')) {
    state.refusal = new HttpProblem(
      415,
      'unsupported-media-type',
      `Send the body as JSON with the header "content-type: application/json" (got ${contentType ? `"${contentType.slice(0, 100)}"${charset ? ` with charset ${charset.slice(0, 20)}` : ''}` : 'none'})`,
    )
  } else if (raw.trim() === '') {
    state.refusal = new HttpProblem(400, 'malformed-body', 'The body is empty; send a JSON object')
  } else if (jsonDepthExceeds(raw)) {
    state.refusal = new HttpProblem(400, 'body-too-deep', `The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`)
  } else {
    let parsed: unknown
    try {
      parsed = JSON.parse(raw)
    } catch {
      state.refusal = new HttpProblem(400, 'malformed-body', 'The body is not valid JSON')
      return REFUSED_BODY
    }
    // Text PostgreSQL cannot store (U+0000, unpaired surrogates): refused here, deferred like the
    // rest, so a request without credentials still answers 401 first.
    const errors = typeof parsed === 'object' ? nulPaths(parsed).map((path) => ({ path: path || '(root)', message: NOT_TEXT_MESSAGE })) : []
    if (errors.length === 0) return parsed
    state.refusal = new HttpProblem(422, 'validation-failed', 'The request has invalid fields', { errors })
  }
  return REFUSED_BODY
}
