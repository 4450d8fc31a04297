import type { Elysia } from 'elysia'
import type { Logger } from '../log'
import { accessLog, type ObserveRequest } from './access-log'
import { bodyLimit } from './body-limit'
import { problemErrors } from './errors'
import { nulRefusal } from './nul-refusal'
import { requestIds } from './request-id'

/**
 * The HTTP basics of both services, in order: request ids, the one-line-a-request log and the
 * request metrics (first, so its route transform runs before any refusal), the body size limit
 * (413), the NUL refusal, and one onError mapping every failure to problem+json.
 */
export function httpBasics(logger: Logger, options: { observe?: ObserveRequest } = {}) {
  // On the app itself (a functional plugin): the access log wraps the app's `handle`.
  return (app: Elysia) =>
    app.use(requestIds()).use(accessLog(logger, options)).use(bodyLimit()).use(nulRefusal()).use(problemErrors(logger))
}
