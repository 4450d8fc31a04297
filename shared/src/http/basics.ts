import { Elysia } from 'elysia'
import type { Logger } from '../log'
import { accessLog, type ObserveRequest } from './access-log'
import { bodyLimit } from './body-limit'
import { problemErrors } from './errors'
import { nulRefusal } from './nul-refusal'
import { requestIds } from './request-id'

/**
 * The HTTP basics of both services, in order: request ids, the body size limit (413), the NUL
 * refusal, one onError mapping every failure to problem+json, and the one-line-a-request log.
 */
export function httpBasics(logger: Logger, options: { observe?: ObserveRequest } = {}) {
  return new Elysia({ name: 'http-basics' })
    .use(requestIds())
    .use(bodyLimit())
    .use(nulRefusal())
    .use(problemErrors(logger))
    .use(accessLog(logger, options))
}
