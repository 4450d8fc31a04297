import { randomUUID } from 'node:crypto'
import { Elysia } from 'elysia'

/** What the HTTP plugins note about a request: its id, its start, its route template, and the problem code it was answered with. */
export type RequestMeta = { id: string; start: number; problem?: string; route?: string }

const requests = new WeakMap<Request, RequestMeta>()

/** The notes of a request (undefined before `requestIds` saw it). */
export const requestMeta = (request: Request): RequestMeta | undefined => requests.get(request)

/** The request id of a request (accepted from `x-request-id` or generated). */
export const requestIdOf = (request: Request) => requests.get(request)?.id ?? 'unknown'

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Gives every request an id: the caller's `x-request-id` when it is a sane token (letters, digits,
 * `._:-`, at most 128), else a new UUID; answered in `x-request-id`, found by `requestIdOf`.
 */
export function requestIds() {
  return new Elysia({ name: 'request-ids' }).onRequest(({ request, set }) => {
    const given = request.headers.get('x-request-id')
    const id = given && VALID_REQUEST_ID.test(given) ? given : randomUUID()
    requests.set(request, { id, start: performance.now() })
    set.headers['x-request-id'] = id
  })
}
