import { assertDocumented } from './openapi-check'

/** Anything with Elysia's `handle`: a request in, a response out, no port. */
export type HandlesRequests = { handle(request: Request): Response | Promise<Response> }

export type Answer = { status: number; headers: Headers; text: string; json: any }

/**
 * Sends one request to an app without a port (`app.handle`): `body` as JSON (with its content
 * type), or `rawBody` as is; answers status, headers, text and the parsed JSON (undefined when not JSON).
 * The answer is checked against the app's own OpenAPI document (openapi-check.ts): an answer the
 * document does not describe fails the test that received it.
 */
export async function callApp(
  app: HandlesRequests,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
) {
  const headers: Record<string, string> = { ...init.headers }
  let body = init.rawBody
  if (init.body !== undefined) {
    body = JSON.stringify(init.body)
    headers['content-type'] ??= 'application/json'
  }
  const response = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }))
  const text = await response.text()
  await assertDocumented(app, method, path, { status: response.status, headers: response.headers, text })
  let json: any
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {}
  return { status: response.status, headers: response.headers, text, json }
}

/** One request through `app.handle`, the body sent as is (see `callApp`). */
export const send = (
  app: HandlesRequests,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> => callApp(app, method, path, { headers: init.headers, rawBody: init.body })

/**
 * `app.handle(request)` with the answer checked against the app's document like `callApp`'s (for
 * requests a test forwards as they are: one service's client calling the other in-process).
 */
export async function handleChecked(app: HandlesRequests, request: Request): Promise<Response> {
  const response = await app.handle(request)
  const text = await response.text()
  await assertDocumented(app, request.method, request.url, { status: response.status, headers: response.headers, text })
  return new Response(response.status === 204 || response.status === 304 ? null : text, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  })
}
