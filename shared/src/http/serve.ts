import type { Server } from 'bun'
import { MAX_BODY_BYTES, markOversized } from './body-limit'

/**
 * Bun itself answers a bare, non-problem 413 for bodies over its `maxRequestBodySize`. So its cap is
 * set far above ours and the 1 MB limit is ours: a declared `content-length` over it is noted by
 * `bodyLimit` and never read; a streamed (chunked) body is read here up to the limit, and past it
 * the request goes on without it, noted as oversized. Either answers 413 problem+json once the
 * route has checked credentials (401 first).
 */
const TRANSPORT_CAP = 64 * MAX_BODY_BYTES

async function readUpTo(request: Request, limit: number): Promise<ArrayBuffer | null> {
  const reader = request.body!.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      return null
    }
    chunks.push(value)
  }
  const body = new Uint8Array(new ArrayBuffer(size))
  let offset = 0
  for (const c of chunks) {
    body.set(c, offset)
    offset += c.byteLength
  }
  return body.buffer
}

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
    async fetch(request) {
      if (request.body && !request.headers.has('content-length')) {
        const body = await readUpTo(request, MAX_BODY_BYTES)
        request = new Request(request, { body: body ?? '' })
        if (!body) markOversized(request)
      }
      return app.handle(request)
    },
  })
  if ('server' in app) app.server = server
  return server
}
