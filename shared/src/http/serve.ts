import type { Server } from 'bun'
import { MAX_BODY_BYTES } from './body-limit'

/**
 * Bun itself answers a bare, non-problem 413 for bodies over its `maxRequestBodySize`. So its cap is
 * set far above ours and the 1 MB limit is ours (`bodyLimit`, `jsonBody`): a declared
 * `content-length` over it is never read, a streamed (chunked) body is read up to it and no
 * further; either answers 413 problem+json once the route has checked credentials (401 first).
 * No body is read here: `jsonBody` reads it only once the route's credentials are checked, and
 * within the process's bound on bodies in flight.
 */
const TRANSPORT_CAP = 64 * MAX_BODY_BYTES

/**
 * Serves an Elysia app (anything with `handle`) on `port` with the body limit above. An Elysia app
 * is handed the server (`app.server`, which `app.listen` would set), so its routes can ask it for
 * the client's socket address (`clientAddress`).
 */
export function serveApp(
  app: { handle(request: Request): Response | Promise<Response>; server?: Server<undefined> | null },
  port: number,
): Server<undefined> {
  const server = Bun.serve({
    port,
    maxRequestBodySize: TRANSPORT_CAP,
    fetch: (request) => app.handle(request),
  })
  if ('server' in app) app.server = server
  return server
}
