import { dirname, join } from 'node:path'
import { openapi } from '@elysiajs/openapi'
import { toJsonSchema, toJsonSchemaDefs } from '@valibot/to-json-schema'
import { Elysia } from 'elysia'
import type { GenericSchema } from 'valibot'
import * as v from 'valibot'
import { documentedSchemas } from '../documented'
import { COMMON_PROBLEMS, notFound, PROBLEM_CONTENT_TYPE, type ProblemCatalog, problemBody, problemCodesOf, statusTitle } from '../problem'

/**
 * The OpenAPI 3.1 document of a service, built from its routes: every operation with its
 * parameters, request body and every status it can answer, the schemas named in
 * `components.schemas` (`named` in documented.ts), problem responses listing their error codes
 * (from the service's code table), and the headers that go with them. Served at /swagger/json
 * with a Swagger UI page at /swagger; `GET /problems/{code}` describes each code (where a
 * problem's `type` points). See docs/openapi.md.
 */

/** The version of both services' APIs: one number for both documents. */
export const API_VERSION = '1.0.0'

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema and OpenAPI objects are untyped JSON here, built and edited in place
type Json = Record<string, any>

// --- valibot → JSON Schema, with names ---------------------------------------------------------

/** The registry as `definitions` of @valibot/to-json-schema: names, and ids of documented-as schemas. */
let definitions: { size: number; defs: Record<string, GenericSchema>; inline: Map<string, Json> } | undefined

function currentDefinitions() {
  const registry = documentedSchemas()
  if (definitions?.size === registry.size) return definitions
  const defs: Record<string, GenericSchema> = {}
  const inline = new Map<string, Json>()
  let n = 0
  for (const [schema, doc] of registry) {
    if ('name' in doc) defs[doc.name] = schema as GenericSchema
    else {
      const id = `~documented${n++}`
      defs[id] = schema as GenericSchema
      inline.set(id, doc.json)
    }
  }
  definitions = { size: registry.size, defs, inline }
  return definitions
}

const CONVERSION = { typeMode: 'input', errorMode: 'ignore', target: 'draft-2020-12' } as const

/** `$ref: '#/$defs/X'` → `#/components/schemas/X`, or the documented JSON of an unnamed schema. */
function rewriteRefs(node: unknown, inline: Map<string, Json>): unknown {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, inline))
  if (!node || typeof node !== 'object') return node
  const out: Json = {}
  for (const [key, value] of Object.entries(node)) out[key] = rewriteRefs(value, inline)
  if (typeof out.$ref === 'string' && out.$ref.startsWith('#/$defs/')) {
    const id = out.$ref.slice('#/$defs/'.length).replaceAll('~1', '/').replaceAll('~0', '~')
    const documented = inline.get(id)
    if (documented) {
      const { $ref: _, ...siblings } = out
      return { ...siblings, ...structuredClone(documented) }
    }
    out.$ref = `#/components/schemas/${id}`
  }
  return out
}

/** A valibot schema as JSON Schema: named schemas as `$ref`s to `components.schemas`. */
function valibotToJsonSchema(schema: GenericSchema): Json {
  const { defs, inline } = currentDefinitions()
  const json = toJsonSchema(schema, { ...CONVERSION, definitions: defs }) as Json
  delete json.$schema
  delete json.$defs
  return rewriteRefs(json, inline) as Json
}

/**
 * Converts many schemas in one go (a conversion costs as much as converting every named schema):
 * `later(schema)` answers a placeholder, `resolve(doc)` puts every converted schema in its place.
 */
function schemaBatch() {
  const ids = new Map<GenericSchema, string>()
  const PLACEHOLDER = '~schema'
  return {
    later(schema: unknown): Json {
      if (!isValibot(schema)) return (schema as Json) ?? {}
      if (!ids.has(schema)) ids.set(schema, `s${ids.size}`)
      return { [PLACEHOLDER]: ids.get(schema) }
    },
    resolve(doc: Json): Json {
      const all = ids.size ? valibotToJsonSchema(v.object(Object.fromEntries([...ids].map(([schema, id]) => [id, schema])))).properties : {}
      const walk = (node: unknown): unknown => {
        if (Array.isArray(node)) return node.map(walk)
        if (!node || typeof node !== 'object') return node
        const id = (node as Json)[PLACEHOLDER]
        if (typeof id === 'string') return structuredClone(all[id])
        return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value)]))
      }
      return walk(doc) as Json
    },
  }
}

/** The entries of an object schema (or of the object a pipe starts with). */
function entriesOf(schema: unknown): Record<string, GenericSchema & { type: string }> {
  const s = schema as {
    entries?: Record<string, GenericSchema & { type: string }>
    pipe?: { entries?: Record<string, GenericSchema & { type: string }> }[]
  }
  return s?.entries ?? s?.pipe?.[0]?.entries ?? {}
}

/** Every named schema as `components.schemas` entries. */
function namedSchemas(): Record<string, Json> {
  const { defs, inline } = currentDefinitions()
  const named = Object.fromEntries(Object.entries(defs).filter(([id]) => !inline.has(id)))
  const all = toJsonSchemaDefs(named, CONVERSION) as Record<string, Json>
  return Object.fromEntries(Object.entries(all).map(([name, json]) => [name, rewriteRefs(json, inline) as Json]))
}

const isValibot = (schema: unknown): schema is GenericSchema =>
  !!schema && typeof schema === 'object' && (schema as { '~standard'?: { vendor?: string } })['~standard']?.vendor === 'valibot'

// --- shared pieces of both documents -------------------------------------------------------------

const SUCCESS_TEXT: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No content',
  302: 'Found: see `Location`',
  304: 'Not modified: the `If-None-Match` ETag is current (no body)',
}

const PROBLEM_TEXT: Record<string, string> = {
  400: 'Bad request: malformed or too deeply nested JSON',
  401: 'Missing or invalid credentials',
  403: 'Authenticated, but not allowed',
  404: 'Not found (or not yours to see)',
  405: 'Method not allowed on this path',
  409: 'Conflict with the current state',
  413: 'Body over 1 MB',
  415: 'Body not sent as application/json',
  422: 'Invalid fields (listed in `errors`)',
  429: 'Too many requests',
  500: 'Internal error',
  502: 'Upstream service failed',
  503: 'Unavailable',
  504: 'Upstream service timed out',
}

const HEADERS: Record<string, Json> = {
  'X-Request-Id': {
    description:
      "The request's id: the `X-Request-Id` the client sent (letters, digits, `._:-`, at most 128), or a generated one. The service's log names the request by it.",
    schema: { type: 'string' },
  },
  Location: {
    description: 'Where the resource is (a path on this service)',
    required: true,
    schema: { type: 'string', format: 'uri-reference' },
  },
  'Retry-After': { description: 'Seconds to wait before retrying', required: true, schema: { type: 'integer', minimum: 1 } },
  Allow: { description: 'The methods the path has, comma-separated', required: true, schema: { type: 'string' } },
  'WWW-Authenticate': { description: 'The authentication scheme to use', required: true, schema: { type: 'string', const: 'Bearer' } },
  ETag: {
    description: 'The version of this answer: send it back in `If-None-Match`, and while it is current the answer is 304 without a body',
    required: true,
    schema: { type: 'string', pattern: '^(W/)?"[^"]*"$' },
  },
}
const headerRef = (name: keyof typeof HEADERS) => ({ $ref: `#/components/headers/${name}` })

/** `Location` of a response, for a route's `detail.responses` (201s get it without asking). */
export const locationHeader = { Location: headerRef('Location') }

/** `Retry-After` of a response a route documents itself in `detail.responses` (an HTML page's 429). */
export const retryAfterHeader = { 'Retry-After': headerRef('Retry-After') }

/** `ETag` of a response, for a route's `detail.responses` (a conditional GET's 200 and 304). */
export const etagHeader = { ETag: headerRef('ETag') }

/**
 * The shared responses of both documents: the problem codes of one status that routes of a kind
 * answer (derived by the builder, not listed per route).
 */
const STANDARD_RESPONSES: Record<string, string[]> = {
  BadRequest: ['malformed-body', 'body-too-deep'],
  Unauthorized: ['unauthorized'],
  Forbidden: ['forbidden'],
  NotFound: ['not-found'],
  MethodNotAllowed: ['method-not-allowed'],
  ContentTooLarge: ['body-too-large'],
  UnsupportedMediaType: ['unsupported-media-type'],
  ValidationFailed: ['validation-failed'],
  InternalError: ['internal-error'],
  DatabaseUnavailable: ['database-unavailable'],
  // a route with a body: the database, or the bound on bodies in flight
  Unavailable: ['database-unavailable', 'request-bodies-busy'],
}

/** The Standard Webhooks headers of a signed event (the delivery service sends them; ecommerce verifies them). */
export const WEBHOOK_HEADER_PARAMETERS = [
  {
    name: 'webhook-id',
    in: 'header',
    required: true,
    description: 'The event id: the same on every retry of one event (a receiver drops repeats by it)',
    schema: { type: 'string', minLength: 1 },
  },
  {
    name: 'webhook-timestamp',
    in: 'header',
    required: true,
    description: 'When this attempt was signed, in Unix seconds; refuse one more than 5 minutes off',
    schema: { type: 'string', pattern: '^[0-9]{1,12}$' },
  },
  {
    name: 'webhook-signature',
    in: 'header',
    required: true,
    description:
      "Space-separated `v1,<base64 HMAC-SHA256>` over `<webhook-id>.<webhook-timestamp>.<body>`, keyed by the secret's bytes (after `whsec_`); two during the 24 hours after a secret rotation (new, then old): accept the event when one matches",
    schema: { type: 'string', pattern: '^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$' },
  },
]

/** Spread into a route's `detail`: the route never touches the database (no 503 `database-unavailable`). */
export const withoutDatabase = { 'x-database': false } as object

/** Several named examples of a request body (Swagger UI offers a choice), for `ApiDocsOptions.examples`. */
export class ExampleSet {
  constructor(readonly examples: Record<string, { summary: string; description?: string; value: unknown }>) {}
}

// --- the document -----------------------------------------------------------------------------------

type OutgoingWebhook = {
  operationId: string
  summary: string
  description: string
  /** The event body (a named schema). */
  payload: GenericSchema
  example: unknown
}

export type ApiDocsOptions = {
  title: string
  description: string
  tags?: { name: string; description: string }[]
  /** How to get a bearer credential (shown on the security scheme and the Authorize box). */
  bearerDescription: string
  /** Example request bodies by `METHOD /openapi/path` (an ExampleSet for several), over the body schemas' own `v.examples`. */
  examples?: Record<string, unknown>
  /** Examples looked up when the document is served (development: a real product of the catalogue); never fails the document. */
  liveExamples?: () => Promise<Record<string, unknown>>
  /** The service's error codes beyond COMMON_PROBLEMS: every code an operation lists must be here. */
  problems: ProblemCatalog
  /** Events the service sends (the document's `webhooks`), by event type. */
  webhooks?: Record<string, OutgoingWebhook>
}

// biome-ignore lint/suspicious/noExplicitAny: Elysia's route hooks are untyped here
type Route = { method: string; path: string; hooks: any }

const METHODS = ['get', 'post', 'put', 'patch', 'delete']

/** `getDeliveriesTracking`: the id of a route that names none (reported as a contract issue). */
const derivedOperationId = (method: string, path: string) =>
  method +
  path
    .split('/')
    .filter((s) => s && !s.startsWith('{'))
    .map((s) => s.replace(/(^|[-_])(\w)/g, (_, __, c: string) => c.toUpperCase()))
    .join('')

const sortStatuses = (responses: Json) =>
  Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })))

/**
 * Builds the document. Contract issues (a route without an operation id, a problem status that
 * lists no codes, a code missing from the table) do not stop it: they are listed in
 * `x-contract-issues`, which the tests require to be absent.
 */
function buildDocument(routes: Route[], options: ApiDocsOptions): Json {
  const catalog: ProblemCatalog = { ...COMMON_PROBLEMS, ...options.problems }
  const issues: string[] = []
  const paths: Json = {}
  const usedResponses = new Set<string>()
  const operationIds = new Map<string, string>()

  const batch = schemaBatch()
  const schemaOf = batch.later

  function problemResponse(status: number, codes: string[], where: string): Json {
    const known = codes.filter((code) => {
      if (catalog[code]) return true
      issues.push(`${where}: the code ${code} is not in the service's problem table`)
      return false
    })
    const standard = Object.entries(STANDARD_RESPONSES).find(
      ([, set]) => set.length === known.length && set.every((c) => known.includes(c)) && catalog[set[0]!]?.status === status,
    )
    if (standard) {
      usedResponses.add(standard[0])
      return { $ref: `#/components/responses/${standard[0]}` }
    }
    return problemResponseObject(status, known)
  }

  function problemResponseObject(status: number, codes: string[]): Json {
    const definitions = codes.map((code) => [code, catalog[code]!] as const)
    // One alternative per body shape: the codes of plain Problem share one (`code` an enum).
    const plain = definitions.filter(([, d]) => !d.schema && !d.extensions).map(([code]) => code)
    const parts: Json[] = []
    if (plain.length)
      parts.push({
        allOf: [
          { $ref: '#/components/schemas/Problem' },
          { properties: { code: plain.length === 1 ? { const: plain[0] } : { enum: plain } }, required: ['code'] },
        ],
      })
    for (const [code, definition] of definitions) {
      if (!definition.schema && !definition.extensions) continue
      const extensions = Object.entries(definition.extensions ?? {}).map(([name, s]) => [name, schemaOf(s)] as const)
      parts.push({
        allOf: [
          definition.schema ? schemaOf(definition.schema) : { $ref: '#/components/schemas/Problem' },
          {
            properties: { code: { const: code }, ...Object.fromEntries(extensions) },
            required: ['code', ...extensions.map(([name]) => name)],
          },
        ],
      })
    }
    const headers: Json = { 'X-Request-Id': headerRef('X-Request-Id') }
    if (definitions.some(([, d]) => d.retryAfter))
      headers['Retry-After'] = definitions.every(([, d]) => d.retryAfter)
        ? headerRef('Retry-After')
        : { ...HEADERS['Retry-After'], required: false, description: 'Seconds to wait before retrying (with the codes that say so)' }
    if (status === 401) headers['WWW-Authenticate'] = headerRef('WWW-Authenticate')
    if (status === 405) headers.Allow = headerRef('Allow')
    return {
      description: [PROBLEM_TEXT[status] ?? statusTitle(status), ...definitions.map(([code, d]) => `- \`${code}\`: ${d.description}`)].join(
        '\n',
      ),
      headers,
      content: {
        [PROBLEM_CONTENT_TYPE]: {
          schema: parts.length === 1 ? parts[0] : { anyOf: parts },
          examples: Object.fromEntries(
            definitions.map(([code, d]) => {
              const { detail, ...extensions } = d.example
              return [code, { summary: code, value: problemBody(status, code, detail, extensions) }]
            }),
          ),
        },
      },
    }
  }

  for (const route of routes) {
    const hooks = route.hooks ?? {}
    const method = route.method.toLowerCase()
    if (hooks.detail?.hide || !METHODS.includes(method)) continue
    const path = route.path.replace(/:([^/]+)/g, '{$1}')
    const key = `${route.method.toUpperCase()} ${path}`
    const {
      'x-database': database,
      responses: detailResponses = {},
      parameters: detailParameters = [],
      requestBody: detailBody,
      ...detail
    }: Json = hooks.detail ?? {}

    const operation: Json = { ...detail }
    if (!operation.operationId) {
      issues.push(`${key}: name the operation (detail.operationId: a verb, e.g. listOrders, dispatchOrder)`)
      operation.operationId = derivedOperationId(method, path)
    }
    const clash = operationIds.get(operation.operationId)
    if (clash) issues.push(`${key}: operationId ${operation.operationId} is also ${clash}'s`)
    operationIds.set(operation.operationId, key)
    operation.security = detail.security ?? []
    const roles: string[] = operation.security.flatMap((requirement: Record<string, string[]>) => Object.values(requirement).flat())

    // Parameters: the path's, the query's, then the headers the route declares. A route that reads a
    // path parameter itself (no params schema) may describe it in `detail.parameters`.
    const parameters: Json[] = []
    const pathParams = entriesOf(hooks.params)
    const described = (detailParameters as Json[]).filter((p) => p.in === 'path')
    for (const match of path.matchAll(/\{([^}]+)\}/g)) {
      const name = match[1]!
      const given = described.find((p) => p.name === name)
      if (given) parameters.push({ ...given, required: true, schema: schemaOf(given.schema) })
      else parameters.push({ name, in: 'path', required: true, schema: pathParams[name] ? schemaOf(pathParams[name]) : { type: 'string' } })
    }
    for (const [name, schema] of Object.entries(entriesOf(hooks.query)))
      parameters.push({
        name,
        in: 'query',
        required: !['optional', 'exact_optional', 'nullish'].includes(schema.type),
        schema: schemaOf(schema),
      })
    for (const parameter of detailParameters as Json[])
      if (parameter.in !== 'path') parameters.push({ ...parameter, schema: schemaOf(parameter.schema) })
    if (parameters.length) operation.parameters = parameters

    // The request body: JSON only (the services parse nothing else).
    const bodySchema = hooks.body ?? detailBody?.content?.['application/json']?.schema
    if (bodySchema) {
      const example = options.examples?.[key]
      operation.requestBody = {
        required: true,
        content: {
          'application/json': {
            schema: schemaOf(bodySchema),
            ...(example instanceof ExampleSet ? { examples: example.examples } : example !== undefined ? { example } : {}),
          },
        },
      }
    }

    // Responses: the route's successes, then every problem it can answer by status.
    const declared: Json = hooks.response && !isValibot(hooks.response) ? hooks.response : hooks.response ? { 200: hooks.response } : {}
    const responses: Json = {}
    // A route's own answers: its successes, and the error pages of a page meant for people (an
    // error status whose `detail.responses` entry gives its content: text/html, not problem+json).
    const pages = new Set(Object.keys(detailResponses).filter((s) => Number(s) >= 400 && detailResponses[s].content))
    const successes = new Set([...Object.keys(declared), ...Object.keys(detailResponses)].filter((s) => Number(s) < 400 || pages.has(s)))
    for (const status of successes) {
      const given: Json = detailResponses[status] ?? {}
      const schema = declared[status]
      const headers: Json = { 'X-Request-Id': headerRef('X-Request-Id'), ...(status === '201' ? locationHeader : {}), ...given.headers }
      const content =
        status === '204' || status === '304' || (isValibot(schema) && schema.type === 'undefined')
          ? undefined
          : (given.content ?? (schema ? { 'application/json': { schema: schemaOf(schema) } } : undefined))
      responses[status] = {
        description: given.description ?? SUCCESS_TEXT[status] ?? `Status ${status}`,
        headers,
        ...(content ? { content } : {}),
      }
    }
    const derived = ['internal-error']
    if (database !== false) derived.push('database-unavailable')
    if (operation.security.length) derived.push('unauthorized')
    if (roles.length) derived.push('forbidden')
    if (hooks.body)
      derived.push(
        'malformed-body',
        'body-too-deep',
        'body-too-large',
        'unsupported-media-type',
        'validation-failed',
        'request-bodies-busy',
      )
    if (hooks.query) derived.push('validation-failed')
    if (hooks.params) derived.push('not-found')
    const codesByStatus = new Map<number, Set<string>>()
    const add = (status: number, code: string) => codesByStatus.set(status, (codesByStatus.get(status) ?? new Set()).add(code))
    for (const code of derived) add(catalog[code]!.status, code)
    for (const [status, schema] of Object.entries(declared)) {
      if (Number(status) < 400) continue
      const codes = problemCodesOf(schema)
      if (!codes) issues.push(`${key} ${status}: list the problem codes it answers (problems('…'))`)
      for (const code of codes ?? []) add(catalog[code]?.status ?? Number(status), code)
      if (!codes?.length) codesByStatus.set(Number(status), codesByStatus.get(Number(status)) ?? new Set())
    }
    for (const [status, codes] of codesByStatus) {
      if (pages.has(String(status))) {
        issues.push(`${key} ${status}: answers a page (detail.responses) and problem codes (${[...codes].join(', ')}) alike`)
        continue
      }
      responses[status] = problemResponse(status, [...codes], key)
    }
    operation.responses = sortStatuses(responses)

    paths[path] ??= {}
    paths[path][method] = operation
  }

  Object.assign(paths, docsPaths(catalog, usedResponses))
  // A known path asked with a method it lacks: no operation to list it under, the same answer everywhere.
  usedResponses.add('MethodNotAllowed')

  const webhooks = Object.entries(options.webhooks ?? {}).map(([type, hook]) => [
    type,
    {
      post: {
        operationId: hook.operationId,
        summary: hook.summary,
        description: hook.description,
        tags: ['webhooks'],
        security: [],
        parameters: WEBHOOK_HEADER_PARAMETERS,
        requestBody: { required: true, content: { 'application/json': { schema: schemaOf(hook.payload), example: hook.example } } },
        responses: {
          '2XX': { description: 'Acknowledged: any 2xx within the timeout; the event is not sent again' },
          default: { description: 'Anything else, or no answer in time: the event is sent again later, with backoff' },
        },
      },
    },
  ])

  const standardResponses = Object.fromEntries(
    [...usedResponses]
      .sort()
      .map((name) => [name, problemResponseObject(catalog[STANDARD_RESPONSES[name]![0]!]!.status, STANDARD_RESPONSES[name]!)]),
  )

  // The schemas, converted in one go; a parameter's description and deprecation belong to the parameter.
  const resolved = batch.resolve({ paths, webhooks, standardResponses })
  Object.assign(paths, resolved.paths)
  for (const item of Object.values<Json>(paths))
    for (const operation of Object.values<Json>(item))
      for (const parameter of operation.parameters ?? []) {
        const { description, deprecated, ...schema } = parameter.schema ?? {}
        if (description && !parameter.description) parameter.description = description
        if (deprecated) parameter.deprecated = true
        parameter.schema = schema
      }

  // Components: only what the document uses, found by following its references.
  const all = namedSchemas()
  const doc: Json = {
    openapi: '3.1.0',
    info: { title: options.title, version: API_VERSION, description: options.description },
    servers: [{ url: '/', description: 'The service that served this document' }],
    tags: [
      ...(options.tags ?? []),
      { name: 'docs', description: 'This document, its Swagger UI page, and the pages describing each error code' },
    ],
    paths,
    ...(webhooks.length ? { webhooks: Object.fromEntries(resolved.webhooks) } : {}),
    components: {
      schemas: {},
      responses: resolved.standardResponses,
      headers: HEADERS,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: options.bearerDescription } },
    },
  }
  const schemas: Json = {}
  const pending = [...JSON.stringify(doc).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!)
  while (pending.length) {
    const name = pending.pop()!
    if (schemas[name]) continue
    if (!all[name]) {
      issues.push(`the schema ${name} is referenced but not named`)
      continue
    }
    schemas[name] = all[name]
    pending.push(...[...JSON.stringify(all[name]).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!))
  }
  doc.components.schemas = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)))
  // The headers the document refers to (ETag only where a route answers one).
  const usedHeaders = new Set([...JSON.stringify(doc).matchAll(/"#\/components\/headers\/([^"]+)"/g)].map((m) => m[1]!))
  doc.components.headers = Object.fromEntries(Object.entries(HEADERS).filter(([name]) => usedHeaders.has(name)))
  if (issues.length) doc['x-contract-issues'] = issues
  return doc
}

/** The documentation's own routes: the Swagger UI page and assets, the document, the problem pages, `/`. */
function docsPaths(catalog: ProblemCatalog, used: Set<string>): Json {
  used.add('InternalError')
  used.add('NotFound')
  const base = { tags: ['docs'], security: [] }
  const ok = (description: string, type: string, schema: Json = { type: 'string' }) => ({
    description,
    headers: { 'X-Request-Id': headerRef('X-Request-Id') },
    content: { [type]: { schema } },
  })
  const internal = { $ref: '#/components/responses/InternalError' }
  const missing = { $ref: '#/components/responses/NotFound' }
  return {
    '/': {
      get: {
        ...base,
        operationId: 'redirectToApiDocs',
        summary: 'Redirects to the Swagger UI page',
        responses: {
          302: { description: SUCCESS_TEXT[302], headers: { 'X-Request-Id': headerRef('X-Request-Id'), ...locationHeader } },
          500: internal,
        },
      },
    },
    '/swagger': {
      get: {
        ...base,
        operationId: 'getApiDocsPage',
        summary: 'The Swagger UI page of this document',
        responses: { 200: ok('The page', 'text/html'), 500: internal },
      },
    },
    '/swagger/json': {
      get: {
        ...base,
        operationId: 'getOpenApiDocument',
        summary: 'This OpenAPI 3.1 document',
        responses: { 200: ok('The document', 'application/json', { type: 'object' }), 500: internal },
      },
    },
    '/swagger/assets/{file}': {
      get: {
        ...base,
        operationId: 'getApiDocsAsset',
        summary: "The Swagger UI page's own assets (served by the service: the page works offline)",
        parameters: [{ name: 'file', in: 'path', required: true, schema: { enum: [...SWAGGER_ASSETS].sort() } }],
        responses: {
          200: {
            description: 'The asset (cacheable for a day)',
            headers: { 'X-Request-Id': headerRef('X-Request-Id') },
            content: {
              'text/css': { schema: { type: 'string' } },
              'text/javascript': { schema: { type: 'string' } },
              'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
            },
          },
          404: missing,
          500: internal,
        },
      },
    },
    '/problems': {
      get: {
        ...base,
        operationId: 'listProblemTypes',
        summary: 'Every error code of this service, with its status and meaning',
        responses: { 200: ok('The page', 'text/html'), 500: internal },
      },
    },
    '/problems/{code}': {
      get: {
        ...base,
        operationId: 'getProblemType',
        summary: "What an error code means: where a problem's `type` points",
        parameters: [{ name: 'code', in: 'path', required: true, schema: { enum: Object.keys(catalog).sort() } }],
        responses: { 200: ok('The page', 'text/html'), 404: missing, 500: internal },
      },
    },
  }
}

// --- the problem pages ------------------------------------------------------------------------------

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/** Markdown's `code` spans as <code> (the descriptions use nothing else). */
const inlineCode = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>')

function page(title: string, body: string) {
  return new Response(
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
      '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}code,pre{background:#f4f4f4;padding:.1em .3em}pre{padding:1em;overflow:auto}</style>' +
      `</head><body>${body}</body></html>\n`,
    { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=3600' } },
  )
}

/** Which operations of the document answer each code. */
function operationsByCode(doc: Json): Map<string, string[]> {
  const byCode = new Map<string, string[]>()
  for (const [path, item] of Object.entries<Json>(doc.paths))
    for (const [method, operation] of Object.entries<Json>(item)) {
      const text = JSON.stringify(operation.responses ?? {})
      const codes = new Set<string>()
      for (const m of text.matchAll(/"#\/components\/responses\/(\w+)"/g)) for (const c of STANDARD_RESPONSES[m[1]!] ?? []) codes.add(c)
      for (const [status, response] of Object.entries<Json>(operation.responses ?? {}))
        for (const code of Object.keys(response.content?.[PROBLEM_CONTENT_TYPE]?.examples ?? {})) if (Number(status) >= 400) codes.add(code)
      for (const code of codes) byCode.set(code, [...(byCode.get(code) ?? []), `${method.toUpperCase()} ${path}`])
    }
  return byCode
}

// --- the plugin ----------------------------------------------------------------------------------

const SWAGGER_ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png'])
const swaggerDist = dirname(require.resolve('swagger-ui-dist/package.json'))

const SPEC_PATH = '/swagger/json'

/**
 * The OpenAPI 3.1 document at /swagger/json and a Swagger UI page at /swagger (and /swagger/;
 * `GET /` redirects there) whose assets the service serves itself (no CDN: the page works
 * offline); `GET /problems` and `GET /problems/{code}` describe the error codes.
 */
export function apiDocs(options: ApiDocsOptions) {
  const docs = new Elysia({ name: 'api-docs' })
  const catalog: ProblemCatalog = { ...COMMON_PROBLEMS, ...options.problems }
  let built: { routes: number; doc: Json } | undefined
  const documentOf = () => {
    // biome-ignore lint/suspicious/noExplicitAny: getGlobalRoutes is Elysia's, not in its public types
    const routes: Route[] = (docs as any).getGlobalRoutes()
    if (built?.routes !== routes.length) built = { routes: routes.length, doc: buildDocument(routes, options) }
    return built.doc
  }
  return docs
    .onAfterHandle(async ({ path }) => {
      if (path !== SPEC_PATH) return
      const doc = documentOf()
      if (!options.liveExamples) return doc
      const live = await options.liveExamples().catch(() => ({}))
      if (Object.keys(live).length === 0) return doc
      const patched = { ...doc, paths: { ...doc.paths } }
      for (const [key, example] of Object.entries(live)) {
        const [method, path] = key.split(' ') as [string, string]
        const operation = doc.paths[path]?.[method.toLowerCase()]
        if (!operation?.requestBody) continue
        patched.paths[path] = {
          ...patched.paths[path],
          [method.toLowerCase()]: {
            ...operation,
            requestBody: {
              ...operation.requestBody,
              content: { 'application/json': { ...operation.requestBody.content['application/json'], example } },
            },
          },
        }
      }
      return patched
    })
    .use(
      openapi({
        path: '/swagger',
        specPath: SPEC_PATH,
        provider: 'swagger-ui',
        // The document is built above from the routes; the plugin's own is skipped (every path excluded).
        exclude: { paths: [/./] },
        documentation: { info: { title: options.title, version: API_VERSION, description: options.description } },
        swagger: {
          // absolute: the page works at /swagger and /swagger/ alike
          url: SPEC_PATH,
          theme: '/swagger/assets/swagger-ui.css',
          cdn: '/swagger/assets/swagger-ui-bundle.js',
          autoDarkMode: false,
          persistAuthorization: true,
          displayOperationId: true,
        } as never,
      }),
    )
    .get(
      '/swagger/assets/:file',
      ({ params, set }) => {
        if (!SWAGGER_ASSETS.has(params.file)) throw notFound('No such asset')
        set.headers['cache-control'] = 'public, max-age=86400'
        return Bun.file(join(swaggerDist, params.file))
      },
      { detail: { hide: true } },
    )
    .get('/', ({ redirect }) => redirect('/swagger', 302), { detail: { hide: true } })
    .get(
      '/problems',
      () => {
        const rows = Object.entries(catalog)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(
            ([code, d]) =>
              `<tr><td><a href="/problems/${code}"><code>${code}</code></a></td><td>${d.status} ${escapeHtml(statusTitle(d.status))}</td><td>${inlineCode(d.description)}</td></tr>`,
          )
        return page(
          `${options.title}: error codes`,
          `<h1>${escapeHtml(options.title)}: error codes</h1><p>Every error is <code>application/problem+json</code> (RFC 9457) with a machine-readable <code>code</code>; its <code>type</code> points here. The OpenAPI document (<a href="/swagger">/swagger</a>) lists the codes of each operation.</p><table><tr><th>code</th><th>status</th><th>meaning</th></tr>${rows.join('')}</table>`,
        )
      },
      { detail: { hide: true } },
    )
    .get(
      '/problems/:code',
      ({ params }) => {
        const definition = Object.hasOwn(catalog, params.code) ? catalog[params.code] : undefined
        if (!definition) throw notFound(`No error code ${params.code}; GET /problems lists them`)
        const { detail, ...extensions } = definition.example
        const example = problemBody(definition.status, params.code, detail, extensions)
        const operations = operationsByCode(documentOf()).get(params.code) ?? []
        return page(
          `${params.code}: ${statusTitle(definition.status)}`,
          `<h1><code>${escapeHtml(params.code)}</code></h1><p>HTTP ${definition.status} ${escapeHtml(statusTitle(definition.status))}${definition.retryAfter ? ', with <code>Retry-After</code> (seconds)' : ''}.</p>` +
            `<p>${inlineCode(definition.description)}</p><h2>Example</h2><pre>${escapeHtml(JSON.stringify(example, null, 2))}</pre>` +
            (operations.length
              ? `<h2>Answered by</h2><ul>${operations.map((o) => `<li><code>${escapeHtml(o)}</code></li>`).join('')}</ul>`
              : '') +
            '<p><a href="/problems">Every error code</a></p>',
        )
      },
      { detail: { hide: true } },
    )
}

/** `detail.security` of a route that needs a bearer credential; with roles, the ones allowed (403 for the others). */
export const bearerAuth = (roles: readonly string[] = []) => [{ bearer: [...roles] }]
