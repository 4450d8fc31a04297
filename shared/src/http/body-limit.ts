import { Elysia } from 'elysia'
import { HttpProblem } from '../problem'

/** Bodies over this size answer 413. */
export const MAX_BODY_BYTES = 1024 * 1024

/** The 413 problem of a body over MAX_BODY_BYTES. */
export const bodyTooLarge = () => new HttpProblem(413, 'body-too-large', `The body must be at most ${MAX_BODY_BYTES} bytes`)

const oversized = new WeakSet<Request>()

/** Notes that the request's body is over the limit (a declared length here, a streamed body in `jsonBody`). */
export const markOversized = (request: Request) => void oversized.add(request)

/** Whether the request's body is over MAX_BODY_BYTES: it is never read, and answers 413 once credentials are checked. */
export const isOversized = (request: Request) => oversized.has(request)

/**
 * A request whose `Content-Length` says more than MAX_BODY_BYTES has its body never read: `jsonBody`
 * refuses it with 413, deferred like its other refusals: credentials, checked before validation,
 * come first (a request without them answers 401 whatever its body), then the route's body
 * validation answers 413. A route that takes no body ignores it. A streamed body is cut at the
 * limit by `jsonBody` as it reads it. After `requestIds`.
 */
export function bodyLimit() {
  return new Elysia({ name: 'body-limit' }).onRequest(({ request }) => {
    const length = request.headers.get('content-length')
    if (length && Number(length) > MAX_BODY_BYTES) markOversized(request)
  })
}
