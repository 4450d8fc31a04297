import * as v from 'valibot'
import { Integer, named } from './documented'

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

/** The title of a status, as every problem of that status says it. */
export const statusTitle = (status: number) => TITLES[status] ?? 'Error'

/**
 * `type` URIs are relative references under /problems/, ending in the machine-readable code: each
 * resolves, against the service that answered, to a page describing the code (`GET /problems/{code}`).
 */
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
    title: statusTitle(status),
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
export const unauthorized = (detail = 'Missing or invalid credentials', code = 'unauthorized') =>
  new HttpProblem(401, code, detail, {}, { 'www-authenticate': 'Bearer' })
export const forbidden = (detail = 'You are not allowed to do this', code = 'forbidden') => new HttpProblem(403, code, detail)
export const notFound = (detail = 'Not found', code = 'not-found') => new HttpProblem(404, code, detail)
export const conflict = (code: string, detail: string, extensions: Record<string, unknown> = {}) =>
  new HttpProblem(409, code, detail, extensions)
export const unprocessable = (errors: FieldError[], detail = 'The request has invalid fields') =>
  new HttpProblem(422, 'validation-failed', detail, { errors })

// --- the contract of errors -----------------------------------------------------------------------

/** One `{ path, message }` of a 422's `errors`: the dotted path of the field and what is wrong with it. */
const FieldErrorSchema = named('FieldError', v.object({ path: v.string(), message: v.string() }))

const problemEntries = {
  type: v.pipe(
    v.string(),
    v.metadata({ format: 'uri-reference', description: 'Resolves (against the service) to a page describing `code`: `/problems/{code}`' }),
  ),
  title: v.string(),
  status: v.pipe(Integer, v.minValue(400), v.maxValue(599)),
  detail: v.optional(v.pipe(v.string(), v.description('What went wrong this time, for a person'))),
  code: v.pipe(v.string(), v.description('Machine-readable: each operation lists the codes it can answer')),
}

/** The problem+json body (RFC 9457) of every error; some codes add members (their schema says which). */
export const ProblemSchema = named('Problem', v.looseObject(problemEntries))

/** A 422 `validation-failed`: `errors` lists every invalid field. */
const ValidationProblemSchema = named(
  'ValidationProblem',
  v.looseObject({ ...problemEntries, errors: v.pipe(v.array(FieldErrorSchema), v.minLength(1)) }),
)

/** What a service answers for one error code: the table feeds the OpenAPI document and `GET /problems/{code}`. */
export type ProblemDefinition = {
  status: number
  /** When it is answered, and what the client does about it. */
  description: string
  /** A realistic answer: its `detail`, and its extension members. */
  example: { detail: string } & Record<string, unknown>
  /** The body's schema when it is not plain Problem (a named schema). */
  schema?: v.GenericSchema
  /** Extension members the answer always carries, beyond Problem's. */
  extensions?: Record<string, v.GenericSchema>
  /** Answers carry `Retry-After` (seconds). */
  retryAfter?: boolean
}

export type ProblemCatalog = Readonly<Record<string, ProblemDefinition>>

/**
 * The codes both services answer, most of them on every route of a kind (the document derives
 * them: a body route can answer 400, 413, 415 and 422, an authenticated one 401, …).
 */
export const COMMON_PROBLEMS = {
  'malformed-body': {
    status: 400,
    description: 'The body is not JSON, or it is empty. Send a JSON object with `content-type: application/json`.',
    example: { detail: 'The body is not valid JSON' },
  },
  'body-too-deep': {
    status: 400,
    description: 'The JSON body nests objects and arrays more than 32 levels deep; no request of this API needs that.',
    example: { detail: 'The JSON body is nested more than 32 levels deep' },
  },
  unauthorized: {
    status: 401,
    description:
      'Credentials are missing, malformed, unknown or expired. Send `Authorization: Bearer <credential>`; credentials are checked before anything else, so this comes first whatever the body. The answer carries `WWW-Authenticate: Bearer`.',
    example: { detail: 'A bearer token is required' },
  },
  forbidden: {
    status: 403,
    description: 'The credentials are valid, but this operation needs another role (the operation says which).',
    example: { detail: 'This needs the role customer; you are a seller' },
  },
  'not-found': {
    status: 404,
    description:
      "No such resource, or not one the caller may see (another client's or customer's resources answer 404 too, never 403). A path parameter of the wrong form (not a UUID) answers 404 as well.",
    example: { detail: 'No such resource' },
  },
  'method-not-allowed': {
    status: 405,
    description: 'The path exists but not with this method; `Allow` lists the methods it has.',
    example: { detail: 'PUT is not allowed on /orders; use GET, HEAD' },
  },
  'body-too-large': {
    status: 413,
    description: 'The body is over 1 MB (1 048 576 bytes); it is never read.',
    example: { detail: 'The body must be at most 1048576 bytes' },
  },
  'unsupported-media-type': {
    status: 415,
    description: 'The body is not sent as JSON in UTF-8: send `content-type: application/json`.',
    example: { detail: 'Send the body as JSON with the header "content-type: application/json" (got "text/plain")' },
  },
  'validation-failed': {
    status: 422,
    description:
      'Fields of the body, query string or headers are invalid: `errors` lists each one, by its dotted path, with the rule it broke.',
    example: { detail: 'The body has invalid fields', errors: [{ path: 'items.0.quantity', message: 'quantity must be at least 1' }] },
    schema: ValidationProblemSchema,
  },
  'internal-error': {
    status: 500,
    description:
      "A fault on the service's side; nothing is said about it but the request id, which the service's log has with the details.",
    example: {
      detail: 'Something went wrong on our side; quote request id 6f1c0a4e-2b7d-4c8e-9a31-5d2f7b8e0c14 when reporting it',
      request_id: '6f1c0a4e-2b7d-4c8e-9a31-5d2f7b8e0c14',
    },
    extensions: { request_id: v.string() },
  },
  'database-unavailable': {
    status: 503,
    description:
      'The database does not answer (restarting, failing over or overloaded). Nothing was changed: retry after `Retry-After` seconds.',
    example: { detail: 'The database is unavailable; retry shortly' },
    retryAfter: true,
  },
  'request-bodies-busy': {
    status: 503,
    description:
      'The service is reading as many request bodies as it may at once (a bound on the memory they take): this body was not read and nothing changed. Send it again after `Retry-After` seconds.',
    example: { detail: 'The service is receiving as many request bodies as it may at once; send this one again shortly' },
    retryAfter: true,
  },
  'request-error': {
    status: 400,
    description: 'The request was refused by the HTTP framework itself before any rule of the API ran; `detail` says why.',
    example: { detail: 'Bad Request' },
  },
} as const satisfies ProblemCatalog

/** The marker a route's `response` map carries for its problem statuses: `problemResponses(catalog)(...codes)`. */
const PROBLEM_CODES = 'problemCodes'

/**
 * The problem responses of a route, for its `response` map: the codes it can answer beyond the
 * ones every route of its kind answers (derived by the document). Grouped by status, each a Problem
 * schema that carries its codes (read by the document builder).
 */
export function problemResponses<C extends string>(catalog: Readonly<Record<C, ProblemDefinition>>) {
  return (...codes: C[]): Record<number, v.GenericSchema> => {
    const byStatus = new Map<number, C[]>()
    for (const code of codes) {
      const definition = catalog[code]
      if (!definition) throw new Error(`no problem code ${code} in the catalog`)
      byStatus.set(definition.status, [...(byStatus.get(definition.status) ?? []), code])
    }
    return Object.fromEntries([...byStatus].map(([status, list]) => [status, v.pipe(ProblemSchema, v.metadata({ [PROBLEM_CODES]: list }))]))
  }
}

/** The codes a route's problem-status schema carries, or undefined for a schema without (a bare Problem). */
export function problemCodesOf(schema: unknown): string[] | undefined {
  const pipe = (schema as { pipe?: { type?: string; metadata?: Record<string, unknown> }[] } | undefined)?.pipe
  const codes = pipe?.find((item) => item.type === 'metadata' && item.metadata?.[PROBLEM_CODES])?.metadata?.[PROBLEM_CODES]
  return Array.isArray(codes) ? (codes as string[]) : undefined
}
