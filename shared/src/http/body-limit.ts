import { Elysia } from 'elysia'
import { HttpProblem, problemBody } from '../problem'

/** Bodies over this size answer 413. */
export const MAX_BODY_BYTES = 1024 * 1024

const TOO_LARGE = `The body must be at most ${MAX_BODY_BYTES} bytes`

/** The 413 problem of a body over MAX_BODY_BYTES. */
export const bodyTooLargeBody = () => problemBody(413, 'body-too-large', TOO_LARGE)

/** The same, to throw (a route that reads the body itself: the signed webhook receiver). */
export const bodyTooLarge = () => new HttpProblem(413, 'body-too-large', TOO_LARGE)

const oversized = new WeakSet<Request>()

/** Notes that the request's body is over the limit (a declared length here, a streamed body in `serveApp`). */
export const markOversized = (request: Request) => void oversized.add(request)

/** Whether the request's body is over MAX_BODY_BYTES: it is never read, and answers 413 once credentials are checked. */
export const isOversized = (request: Request) => oversized.has(request)

/**
 * What an oversized body becomes: no object schema accepts a symbol, so a route that takes a body
 * fails its validation, which `problemErrors` answers with 413.
 */
const OVERSIZED_BODY: unique symbol = Symbol('oversized body')

/**
 * A request whose `Content-Length` says more than MAX_BODY_BYTES (or whose streamed body `serveApp`
 * cut at the limit) has its body never read: the first parser makes it OVERSIZED_BODY. The 413 is
 * deferred like `jsonBody`'s refusals: credentials, checked before validation, come first (a
 * request without them answers 401 whatever its body), then the route's body validation answers
 * 413. A route that takes no body ignores it. After `requestIds`, before `jsonBody`.
 */
export function bodyLimit() {
  return new Elysia({ name: 'body-limit' })
    .onRequest(({ request }) => {
      const length = request.headers.get('content-length')
      if (length && Number(length) > MAX_BODY_BYTES) markOversized(request)
    })
    .onParse({ as: 'global' }, ({ request }) => (isOversized(request) ? OVERSIZED_BODY : undefined))
}
