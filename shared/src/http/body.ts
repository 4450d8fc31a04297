import { Elysia } from 'elysia'
import { HttpProblem } from '../problem'
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
 * answered once the route's credentials are checked. `jsonBody` and `bodyLimit` (413) use it.
 */
export function refuseBody(request: Request, refusal: HttpProblem): typeof REFUSED_BODY {
  bodies.set(request, { refusal })
  return REFUSED_BODY
}

/**
 * Every request body is JSON: one global parser reads the text, and refuses a content type other
 * than JSON (415), a charset other than UTF-8 (415), nesting deeper than MAX_JSON_DEPTH (400),
 * and malformed JSON (400) — before `JSON.parse` or any validation runs.
 *
 * The refusal is deferred: the body becomes REFUSED_BODY and the route's validation answers it.
 * So credentials, checked before validation (the auth plugins), are still checked first (a
 * request without them answers 401 whatever its body), and a route that takes no body ignores one.
 */
export function jsonBody() {
  return new Elysia({ name: 'json-body' }).onParse({ as: 'global' }, async ({ request, contentType: given }) => {
    const contentType = given.trim()
    const raw = await request.text()
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
      const errors =
        typeof parsed === 'object' ? nulPaths(parsed).map((path) => ({ path: path || '(root)', message: NOT_TEXT_MESSAGE })) : []
      if (errors.length === 0) return parsed
      state.refusal = new HttpProblem(422, 'validation-failed', 'The request has invalid fields', { errors })
    }
    return REFUSED_BODY
  })
}
