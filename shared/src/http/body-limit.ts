import { Elysia } from 'elysia'
import { problemBody, problemResponse } from '../problem'
import { requestMeta } from './request-id'

/** Bodies over this size answer 413. */
export const MAX_BODY_BYTES = 1024 * 1024

/** The 413 problem of a body over MAX_BODY_BYTES. */
export const bodyTooLargeBody = () => problemBody(413, 'body-too-large', `The body must be at most ${MAX_BODY_BYTES} bytes`)

/**
 * Refuses a request whose `Content-Length` says more than MAX_BODY_BYTES with 413 before anything
 * is read (a streamed body is cut at the limit by `serveApp`). After `requestIds`.
 */
export function bodyLimit() {
  return new Elysia({ name: 'body-limit' }).onRequest(({ request }) => {
    const length = request.headers.get('content-length')
    if (!length || Number(length) <= MAX_BODY_BYTES) return
    const meta = requestMeta(request)
    return problemResponse(bodyTooLargeBody(), meta ? { 'x-request-id': meta.id } : {})
  })
}
