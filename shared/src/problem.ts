/**
 * RFC 9457 problem details. Every error either service answers is one of these, served as
 * `application/problem+json`.
 */
export type FieldError = { path: string; message: string }

export type ProblemBody = {
  type: string
  title: string
  status: number
  detail?: string
  instance?: string
  code?: string
  errors?: FieldError[]
  [extension: string]: unknown
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** `type` URIs are relative references under /problems/, ending in the machine-readable code. */
const problemType = (code: string) => `/problems/${code}`

/** An error that carries its own problem details; throw it anywhere in a request. */
export class HttpProblem extends Error {
  readonly status: number
  readonly code: string
  readonly extensions: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor(
    status: number,
    code: string,
    detail: string,
    extensions: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail)
    this.name = 'HttpProblem'
    this.status = status
    this.code = code
    this.extensions = extensions
    this.headers = headers
  }

  toBody(): ProblemBody {
    return problemBody(this.status, this.code, this.message, this.extensions)
  }
}

export function problemBody(status: number, code: string, detail?: string, extensions: Record<string, unknown> = {}): ProblemBody {
  return {
    type: problemType(code),
    title: TITLES[status] ?? 'Error',
    status,
    ...(detail === undefined ? {} : { detail }),
    code,
    ...extensions,
  }
}

export function problemResponse(body: ProblemBody, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', ...headers, 'content-type': PROBLEM_CONTENT_TYPE },
  })
}

/** Shorthands for the problems both services raise. */
export const badRequest = (detail: string, code = 'bad-request') => new HttpProblem(400, code, detail)
export const unauthorized = (detail = 'Missing or invalid credentials', code = 'unauthorized') =>
  new HttpProblem(401, code, detail, {}, { 'www-authenticate': 'Bearer' })
export const forbidden = (detail = 'You are not allowed to do this', code = 'forbidden') => new HttpProblem(403, code, detail)
export const notFound = (detail = 'Not found', code = 'not-found') => new HttpProblem(404, code, detail)
export const conflict = (code: string, detail: string, extensions: Record<string, unknown> = {}) =>
  new HttpProblem(409, code, detail, extensions)
export const unprocessable = (errors: FieldError[], detail = 'The request has invalid fields') =>
  new HttpProblem(422, 'validation-failed', detail, { errors })
