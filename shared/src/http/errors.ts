import { randomUUID } from 'node:crypto'
import { Elysia } from 'elysia'
import { errorFields, isDatabaseUnavailable } from '../db-errors'
import type { Logger } from '../log'
import { type FieldError, HttpProblem, problemBody, problemResponse } from '../problem'
import { bodyRefusalOf } from './body'

/** Bodies over this size answer 413. */
export const MAX_BODY_BYTES = 1024 * 1024

type RequestMeta = { id: string; start: number; status?: number; problem?: string }

/** Seconds a client is asked to wait (`Retry-After`) when the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5

/** Called once per answered request (metrics): `route` is the route template, `unmatched` for no route. */
export type ObserveRequest = (method: string, route: string, status: number, seconds: number) => void
const requests = new WeakMap<Request, RequestMeta>()

/** The request id of a request (accepted from `x-request-id` or generated). */
export const requestIdOf = (request: Request) => requests.get(request)?.id ?? 'unknown'

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Paths polled by machines: their successful requests are logged at debug, not info. */
const POLLED_PATHS = /^\/(health|metrics)(\/|$)/

type PathItem = PropertyKey | { key: unknown }

/** Field errors from a standard-schema (valibot) failure: each issue's dotted path and message. */
export function fieldErrors(issues: readonly { message: string; received?: string; path?: readonly PathItem[] }[]): FieldError[] {
  return issues.map((issue) => ({
    path: (issue.path ?? []).map((p) => (typeof p === 'object' && p !== null ? String(p.key) : String(p))).join('.') || '(root)',
    message: withShortReceived(issue.message, issue.received),
  }))
}

/** valibot quotes the received value in its messages: a long one (a whole body) is cut, not echoed. */
function withShortReceived(message: string, received: string | undefined) {
  if (!received || received.length <= 60) return message
  return message.replace(received, `${received.slice(0, 40)}… (${received.length} characters)`)
}

function validationIssues(error: { validator?: any; value?: unknown }) {
  const validator = error.validator
  const standard = validator?.['~standard'] ?? validator?.schema?.['~standard']
  if (!standard) return []
  const result = standard.validate(error.value)
  return result instanceof Promise ? [] : (result.issues ?? [])
}

/**
 * Dotted paths of the strings (keys or values) in `value` that PostgreSQL cannot store: those that
 * contain U+0000 or an unpaired UTF-16 surrogate (`"\ud800"` is valid JSON, but jsonb refuses it
 * and text silently turns it into U+FFFD).
 */
export function nulPaths(value: unknown, path = '', depth = 0): string[] {
  if (typeof value === 'string') return notText(value) ? [path] : []
  if (value === null || typeof value !== 'object' || depth > 64) return []
  const found: string[] = []
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key
    if (notText(key)) found.push(at)
    found.push(...nulPaths(item, at, depth + 1))
  }
  return found
}

const notText = (s: string) => s.includes('\u0000') || !s.isWellFormed()

/**
 * Request ids, the one-line-a-request log, the body size limit and one onError that maps every
 * failure to problem+json: malformed JSON 400, invalid fields 422 (with `errors`), unknown route or
 * path parameter 404, body over 1 MB 413, thrown HttpProblems as they say, anything else 500 with no
 * detail but the request id (the stack goes to the log).
 */
export function problemHandling(logger: Logger, options: { observe?: ObserveRequest } = {}) {
  const observe = options.observe
  return new Elysia({ name: 'problem-handling' })
    .onRequest(({ request, set }) => {
      const given = request.headers.get('x-request-id')
      const id = given && VALID_REQUEST_ID.test(given) ? given : randomUUID()
      const meta: RequestMeta = { id, start: performance.now() }
      requests.set(request, meta)
      set.headers['x-request-id'] = id
      const length = request.headers.get('content-length')
      if (length && Number(length) > MAX_BODY_BYTES) {
        meta.status = 413
        return problemResponse(problemBody(413, 'body-too-large', `The body must be at most ${MAX_BODY_BYTES} bytes`), {
          'x-request-id': id,
        })
      }
    })
    // Postgres text and jsonb cannot hold U+0000 (nor jsonb an unpaired surrogate): one reaching a
    // query fails it (a 500). Refuse it up front, in any path parameter (404, like other bad ids),
    // query value or JSON body field (422).
    .onTransform({ as: 'global' }, ({ params, query, body }) => {
      if (nulPaths(params).length > 0) throw new HttpProblem(404, 'not-found', 'No such resource')
      const errors = [...nulPaths(query, 'query'), ...(typeof body === 'object' ? nulPaths(body) : [])].map((path) => ({
        path: path || '(root)',
        message: 'must not contain the character U+0000 or an unpaired surrogate (\\uD800-\\uDFFF)',
      }))
      if (errors.length > 0) throw new HttpProblem(422, 'validation-failed', 'The request has invalid fields', { errors })
    })
    .onError({ as: 'global' }, ({ code, error, request, route }) => {
      const id = requestIdOf(request)
      const meta = requests.get(request)
      const response = toProblemResponse(code, error, request, id, route, meta)
      if (meta) meta.status = response.status
      return response
    })
    .onAfterResponse({ as: 'global' }, ({ request, set, responseValue, route }) => {
      const info = logger.enabled('info')
      if (!info && !observe) return
      const meta = requests.get(request)
      const status =
        meta?.status ?? (responseValue instanceof Response ? responseValue.status : typeof set.status === 'number' ? set.status : 200)
      const ms = meta ? performance.now() - meta.start : undefined
      if (observe && ms !== undefined) observe(request.method, route || 'unmatched', status, ms / 1000)
      if (!info) return
      const path = new URL(request.url).pathname
      // Probes and scrapes (/health every few seconds, /metrics) only at debug while they answer 2xx.
      const routine = status < 300 && POLLED_PATHS.test(path)
      if (routine && !logger.enabled('debug')) return
      const fields = {
        request_id: meta?.id,
        method: request.method,
        path,
        status,
        duration_ms: ms === undefined ? undefined : Math.round(ms * 100) / 100,
        ...(meta?.problem ? { problem: meta.problem } : {}),
      }
      if (routine) logger.debug('request', fields)
      else logger.info('request', fields)
    })

  function toProblemResponse(
    code: string | number,
    error: any,
    request: Request,
    id: string,
    route: string | undefined,
    meta: RequestMeta | undefined,
  ): Response {
      const headers: Record<string, string> = { 'x-request-id': id }
      if (error instanceof HttpProblem) return problemResponse(error.toBody(), { ...headers, ...error.headers })
      switch (code) {
        case 'PARSE':
          return problemResponse(problemBody(400, 'malformed-body', 'The body is not valid JSON'), headers)
        case 'NOT_FOUND':
          return problemResponse(problemBody(404, 'not-found', `No route for ${request.method} ${new URL(request.url).pathname}`), headers)
        case 'VALIDATION': {
          const refusal = error.type === 'body' ? bodyRefusalOf(request) : undefined
          if (refusal) return problemResponse(refusal.toBody(), headers)
          const errors = fieldErrors(validationIssues(error))
          if (error.type === 'params')
            return problemResponse(problemBody(404, 'not-found', 'No such resource'), headers)
          if (error.type === 'response') break
          const where = error.type === 'query' ? 'query string' : error.type === 'headers' ? 'headers' : 'body'
          return problemResponse(problemBody(422, 'validation-failed', `The ${where} has invalid fields`, { errors }), headers)
        }
      }
      // Unreachable, restarting or shutting down: a 503 to retry (its transaction was rolled back).
      if (isDatabaseUnavailable(error)) {
        if (meta) meta.problem = 'database-unavailable'
        logger.debug('database unavailable', { request_id: id, method: request.method, route, ...errorFields(error), stack: undefined })
        return problemResponse(problemBody(503, 'database-unavailable', 'The database is unavailable; retry shortly'), {
          ...headers,
          'retry-after': String(DATABASE_RETRY_AFTER_SECONDS),
        })
      }
      const status = typeof (error as { status?: unknown })?.status === 'number' ? (error as { status: number }).status : 500
      if (status === 413)
        return problemResponse(problemBody(413, 'body-too-large', `The body must be at most ${MAX_BODY_BYTES} bytes`), headers)
      if (status >= 400 && status < 500 && code !== 'VALIDATION')
        return problemResponse(problemBody(status, 'request-error', (error as Error)?.message), headers)
      logger.error('unhandled error', {
        request_id: id,
        method: request.method,
        route,
        path: new URL(request.url).pathname,
        // Never the message of a database error: drizzle's embeds the SQL and its parameters.
        error: errorFields(error),
      })
      return problemResponse(
        problemBody(500, 'internal-error', `Something went wrong on our side; quote request id ${id} when reporting it`, {
          request_id: id,
        }),
        headers,
      )
  }
}
