import { Elysia } from 'elysia'
import { errorFields, isDatabaseUnavailable } from '../db-errors'
import type { Logger } from '../log'
import { type FieldError, HttpProblem, problemBody, problemResponse } from '../problem'
import { bodyRefusalOf } from './body'
import { bodyTooLarge } from './body-limit'
import { queryRefusalOf } from './nul-refusal'
import { type RequestMeta, requestIdOf, requestMeta } from './request-id'

/** Seconds a client is asked to wait (`Retry-After`) when the database is unavailable. */
const DATABASE_RETRY_AFTER_SECONDS = 5

/** 503 `database-unavailable` with `Retry-After`: the database does not answer; the client retries shortly. */
export const databaseUnavailable = (detail = 'The database is unavailable; retry shortly') =>
  new HttpProblem(503, 'database-unavailable', detail, {}, { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) })

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

// biome-ignore lint/suspicious/noExplicitAny: Elysia's validation error carries its validator untyped (a standard schema, or one wrapped in `schema`)
function validationIssues(error: { validator?: any; value?: unknown }) {
  const validator = error.validator
  const standard = validator?.['~standard'] ?? validator?.schema?.['~standard']
  if (!standard) return []
  const result = standard.validate(error.value)
  return result instanceof Promise ? [] : (result.issues ?? [])
}

/**
 * One onError that maps every failure to problem+json: malformed JSON 400, invalid fields 422
 * (with `errors`), unknown route or path parameter 404, body over 1 MB 413, thrown HttpProblems as
 * they say, an unavailable database 503, anything else 500 with no detail but the request id (the
 * stack goes to the log). After `requestIds`.
 */
export function problemErrors(logger: Logger) {
  return new Elysia({ name: 'problem-errors' }).onError({ as: 'global' }, ({ code, error, request, route }) => {
    const id = requestIdOf(request)
    return toProblemResponse(code, error, request, id, route, requestMeta(request))
  })

  function toProblemResponse(
    code: string | number,
    // biome-ignore lint/suspicious/noExplicitAny: whatever a route threw (Elysia's own errors, HttpProblems, driver errors); narrowed below
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
        const refusal = error.type === 'body' ? bodyRefusalOf(request) : error.type === 'query' ? queryRefusalOf(request) : undefined
        if (refusal) return problemResponse(refusal.toBody(), { ...headers, ...refusal.headers })
        const errors = fieldErrors(validationIssues(error))
        if (error.type === 'params') return problemResponse(problemBody(404, 'not-found', 'No such resource'), headers)
        if (error.type === 'response') break
        const where = error.type === 'query' ? 'query string' : error.type === 'headers' ? 'headers' : 'body'
        return problemResponse(problemBody(422, 'validation-failed', `The ${where} has invalid fields`, { errors }), headers)
      }
    }
    // Unreachable, restarting or shutting down: a 503 to retry (its transaction was rolled back).
    if (isDatabaseUnavailable(error)) {
      if (meta) meta.problem = 'database-unavailable'
      logger.debug('database unavailable', { request_id: id, method: request.method, route, ...errorFields(error), stack: undefined })
      const unavailable = databaseUnavailable()
      return problemResponse(unavailable.toBody(), { ...headers, ...unavailable.headers })
    }
    const status = typeof (error as { status?: unknown })?.status === 'number' ? (error as { status: number }).status : 500
    if (status === 413) return problemResponse(bodyTooLarge().toBody(), headers)
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
