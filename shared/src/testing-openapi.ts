import { sql } from 'drizzle-orm'
import fc from 'fast-check'
import { type Db, queryRows } from './db'
import { PROBLEM_CONTENT_TYPE } from './problem'
import { callApp } from './testing'

/**
 * Test helpers driven by a service's own OpenAPI document: the route list (so a fuzz run or an
 * authorization matrix covers every route, including ones added later), a whole-database
 * fingerprint (to prove a refused request changed nothing), the problem+json checks every 4xx
 * must pass, and fast-check generators of invalid input.
 */

export type HandlesRequests = { handle(request: Request): Response | Promise<Response> }

export type OpenApiParameter = { name: string; in: 'path' | 'query' | 'header' | 'cookie'; required?: boolean; schema?: any }

export type OpenApiRoute = {
  /** `GET`, `POST`, … */
  method: string
  /** The OpenAPI path, e.g. `/orders/{id}/confirm`. */
  path: string
  /** `METHOD path`: the key of policy tables. */
  key: string
  parameters: OpenApiParameter[]
  pathParams: string[]
  queryParams: OpenApiParameter[]
  hasBody: boolean
  operation: any
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

/** Every operation the app's `GET /swagger/json` lists, except the docs themselves. */
export async function openApiRoutes(app: HandlesRequests): Promise<{ doc: any; routes: OpenApiRoute[] }> {
  const response = await app.handle(new Request('http://localhost/swagger/json'))
  if (response.status !== 200) throw new Error(`GET /swagger/json answered ${response.status}`)
  const doc: any = await response.json()
  const routes: OpenApiRoute[] = []
  for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
    if (path.startsWith('/swagger')) continue
    for (const m of METHODS) {
      const operation = item[m]
      if (!operation) continue
      const parameters: OpenApiParameter[] = [...(item.parameters ?? []), ...(operation.parameters ?? [])]
      const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]!)
      routes.push({
        method: m.toUpperCase(),
        path,
        key: `${m.toUpperCase()} ${path}`,
        parameters,
        pathParams,
        queryParams: parameters.filter((p) => p.in === 'query'),
        hasBody: operation.requestBody !== undefined,
        operation,
      })
    }
  }
  return { doc, routes }
}

/** `path` with its `{name}` parameters replaced by `values` (inserted as given: encode them yourself). */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`no value for path parameter ${name} of ${path}`)
    return value
  })
}

/** Route-set differences between a policy table and the document: both lists empty when they match. */
export function policyCoverage(routes: OpenApiRoute[], policyKeys: string[]) {
  const documented = new Set(routes.map((r) => r.key))
  const listed = new Set(policyKeys)
  return {
    missingFromPolicy: [...documented].filter((k) => !listed.has(k)).sort(),
    notInDocument: [...listed].filter((k) => !documented.has(k)).sort(),
  }
}

export type TableFingerprint = Record<string, { rows: number; md5: string }>

/**
 * Row count and an md5 of every row (in text form, sorted) of every table of the public schema:
 * two equal fingerprints mean no row was inserted, updated or deleted in between.
 */
export async function databaseFingerprint(db: Db<any>): Promise<TableFingerprint> {
  const tables = await queryRows<{ name: string }>(
    db,
    sql`select table_name as name from information_schema.tables
        where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
  )
  const result: TableFingerprint = {}
  for (const { name } of tables) {
    const ident = sql.identifier(name)
    const [row] = await queryRows<{ rows: number | string; md5: string | null }>(
      db,
      sql`select count(*)::int as rows, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as md5 from ${ident} t`,
    )
    result[name] = { rows: Number(row!.rows), md5: row!.md5 ?? '' }
  }
  return result
}

/** Tables whose fingerprint differs, with before/after. */
export function fingerprintDiff(before: TableFingerprint, after: TableFingerprint) {
  const names = new Set([...Object.keys(before), ...Object.keys(after)])
  return [...names]
    .filter((n) => JSON.stringify(before[n]) !== JSON.stringify(after[n]))
    .map((n) => ({ table: n, before: before[n], after: after[n] }))
}

export type Answer = { status: number; headers: Headers; text: string; json: any }

/** One request through `app.handle`, the body sent as is (see `callApp`). */
export const send = (app: HandlesRequests, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> =>
  callApp(app, method, path, { headers: init.headers, rawBody: init.body })

/** What is wrong with an error answer as problem+json (RFC 9457), or null when nothing. */
export function problemViolation(answer: Answer): string | null {
  const type = answer.headers.get('content-type') ?? ''
  if (!type.toLowerCase().startsWith(PROBLEM_CONTENT_TYPE)) return `content-type is "${type}", not ${PROBLEM_CONTENT_TYPE}`
  const body = answer.json
  if (!body || typeof body !== 'object' || Array.isArray(body)) return `body is not a JSON object: ${answer.text.slice(0, 200)}`
  if (typeof body.type !== 'string' || body.type === '') return 'body has no `type`'
  if (typeof body.title !== 'string' || body.title === '') return 'body has no `title`'
  if (body.status !== answer.status) return `body.status ${body.status} differs from the HTTP status ${answer.status}`
  return null
}

/** Fails unless the answer is a 4xx problem+json (never 2xx, 3xx or 5xx). */
export function refusalViolation(answer: Answer): string | null {
  if (answer.status < 400 || answer.status >= 500) return `status ${answer.status}: ${answer.text.slice(0, 300)}`
  return problemViolation(answer)
}

// ---------------------------------------------------------------------------------------------
// Generators of invalid input
// ---------------------------------------------------------------------------------------------

/** A long string of whitespace, non-ASCII, emoji, RTL override and a quote: no text field takes it. */
export const hugeString = fc
  .integer({ min: 1_000, max: 3_000 })
  .map((n) => ' \u00e9\u{1D11E} \u202e"x'.repeat(n).slice(0, n * 5))

/** Strings that are never an acceptable value of a text field (empty, blank, NUL, oversized). */
export const brokenString = fc.oneof(
  fc.constant(''),
  fc.constantFrom(' ', '   ', '\t\n', '\u00a0\u2003'),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
  hugeString,
)

/** JSON values of the wrong type for a string field. */
const notAString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
)

/** Numbers no quantity-like field accepts (negative, fractional, huge), or the wrong type. */
export const brokenNumber = fc.oneof(
  fc.integer({ min: -1_000_000_000, max: -1 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
  fc.integer({ min: 1_000_000_001, max: Number.MAX_SAFE_INTEGER }),
  fc.constant(1e300),
  fc.constantFrom('1', '2', '', 'NaN', 'Infinity', '1e3'),
  fc.boolean(),
  fc.constant(null),
  fc.constant([1]),
  fc.constant({ value: 1 }),
)

const brokenBoolean = fc.oneof(fc.constantFrom('true', 'false', 0, 1, null, 'yes'), fc.constant({}), fc.constant([true]))

const brokenObject = fc.oneof(
  fc.constant({}),
  fc.constant([]),
  fc.constant(null),
  fc.string({ maxLength: 10 }),
  fc.integer(),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { minLength: 1, maxLength: 3 }),
)

const brokenArray = fc.oneof(
  fc.constant([]),
  fc.constant({}),
  fc.constant(null),
  fc.string({ maxLength: 10 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null), fc.boolean()), { minLength: 1, maxLength: 5 }),
  // more elements than any list field takes
  fc.constant(Array.from({ length: 600 }, () => ({}))),
)

type JsonPath = (string | number)[]

function nodesOf(value: unknown, path: JsonPath = []): { path: JsonPath; value: unknown }[] {
  const here = [{ path, value }]
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => nodesOf(v, [...path, i]))]
  if (value && typeof value === 'object') return [...here, ...Object.entries(value).flatMap(([k, v]) => nodesOf(v, [...path, k]))]
  return here
}

const pathKey = (path: JsonPath) => path.join('.')

function withAt(root: unknown, path: JsonPath, replace: (parent: any, key: string | number) => void): unknown {
  const copy = structuredClone(root)
  if (path.length === 0) throw new Error('withAt needs a non-empty path')
  let parent: any = copy
  for (const k of path.slice(0, -1)) parent = parent[k]
  replace(parent, path[path.length - 1]!)
  return copy
}

export type BodyTemplate = {
  /** A minimal valid body: every key in it is required, so removing any key makes it invalid. */
  body: unknown
  /** Dotted paths of strings that take any string (only wrong types break them). */
  anyString?: string[]
  /** Dotted paths that also take null. */
  nullable?: string[]
}

/**
 * Bodies derived from a valid `template` with at least one part broken: a field removed, given
 * the wrong type, an empty / blank / NUL / oversized string, a negative, fractional or huge
 * number, an empty list, or the whole body replaced. Unknown junk keys may be added on top.
 */
export function brokenBody(template: BodyTemplate): fc.Arbitrary<unknown> {
  const nodes = nodesOf(template.body)
  const anyString = new Set(template.anyString ?? [])
  const nullable = new Set(template.nullable ?? [])
  const mutations = nodes.map(({ path, value }) => {
    const key = pathKey(path)
    let replacement: fc.Arbitrary<unknown>
    if (typeof value === 'string') replacement = anyString.has(key) ? notAString : fc.oneof(brokenString, notAString)
    else if (typeof value === 'number') replacement = brokenNumber
    else if (typeof value === 'boolean') replacement = brokenBoolean
    else if (Array.isArray(value)) replacement = brokenArray
    else replacement = brokenObject
    if (nullable.has(key)) replacement = replacement.filter((v) => v !== null)
    if (path.length === 0) return replacement
    const options: fc.Arbitrary<unknown>[] = [replacement.map((v) => withAt(template.body, path, (p, k) => void (p[k] = v)))]
    // removing a key (minimal templates: every key is required); removing a list element instead empties nothing useful
    if (typeof path[path.length - 1] === 'string')
      options.push(fc.constant(null).map(() => withAt(template.body, path, (p, k) => void delete p[k])))
    return fc.oneof(...options)
  })
  const broken = fc.oneof(...mutations)
  const junkKeys = fc.dictionary(
    fc.string({ minLength: 1, maxLength: 8 }).map((k) => `x_${k}`),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 3 },
  )
  return fc.tuple(broken, fc.option(junkKeys, { nil: undefined })).map(([body, extra]) =>
    extra && body && typeof body === 'object' && !Array.isArray(body) ? { ...extra, ...body } : body,
  )
}

/** A raw request body that is not an acceptable JSON object for any route, with its content type. */
export const junkBody: fc.Arbitrary<{ body: string; contentType: string | undefined }> = fc.oneof(
  // not JSON at all, sent as JSON
  fc
    .oneof(
      fc.constantFrom('{', '{"a":', '[1,2', "{'a':1}", 'NaN', 'undefined', '{"a":1}}', '\u0000', '<xml/>', '{"a":1,}', '\ufeff{'),
      fc.string({ maxLength: 50 }).map((s) => `{${s}`),
    )
    .map((body) => ({ body, contentType: 'application/json' as string | undefined })),
  // JSON, but not an object: scalars and arrays at the root
  fc
    .oneof(fc.integer(), fc.string({ maxLength: 30 }), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }))
    .map((v) => ({ body: JSON.stringify(v), contentType: 'application/json' })),
  // deeply nested junk
  fc.integer({ min: 50, max: 3_000 }).map((n) => ({ body: '['.repeat(n) + ']'.repeat(n), contentType: 'application/json' })),
  fc.integer({ min: 50, max: 1_000 }).map((n) => ({ body: '{"a":'.repeat(n) + '1' + '}'.repeat(n), contentType: 'application/json' })),
  // random objects with unknown keys (valibot drops unknown keys, so required ones are missing)
  fc
    .dictionary(fc.string({ minLength: 1, maxLength: 10 }).map((k) => `z${k}`), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 })
    .map((v) => ({ body: JSON.stringify(v), contentType: 'application/json' })),
  // an empty body that claims to be JSON
  fc.constant({ body: '', contentType: 'application/json' }),
  // junk under other content types
  fc
    .tuple(
      fc.constantFrom('text/plain', 'application/octet-stream', 'application/xml', 'application/json; charset=utf-16', undefined),
      fc.oneof(fc.constantFrom('{', 'hello', '<a/>'), fc.string({ maxLength: 40 }).map((s) => `{${s}`)),
    )
    .map(([contentType, body]) => ({ body, contentType })),
)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Path segments (already URL-encoded) that name no existing resource: non-UUIDs, random UUIDs,
 * very long values, broken or odd percent-encodings, NUL, unicode.
 */
export const junkPathSegment: fc.Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== '' && s !== '.' && s !== '..').map(encodeURIComponent),
  fc.uuid().map((u) => u),
  fc.integer({ min: 65, max: 4_000 }).map((n) => 'A'.repeat(n)),
  fc.constantFrom(
    '%00',
    '%ZZ',
    '%',
    '%25',
    '%2F',
    '..%2F..%2Fetc%2Fpasswd',
    '%2e%2e%2f',
    '%F0%9F%92%A9',
    '%C0%AF',
    '%FF%FE',
    '%20',
    'null',
    'undefined',
    '-1',
    '0',
    '1e400',
    "1'%20OR%20'1'='1",
    '00000000-0000-0000-0000-000000000000',
    '%7B%7D',
    'TRK-0000-0000-0000',
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).filter((s) => s.trim() !== '').map(encodeURIComponent),
)

/** Query values for `limit` / `offset` that are out of range or not whole numbers. */
export const brokenPagination = (name: 'limit' | 'offset') =>
  fc.oneof(
    fc.constantFrom('abc', '-1', '1.5', '1e3', '', ' ', '0x10', '+1', 'NaN', '9999999999', '١٢', '%00'),
    fc.integer({ min: -1_000_000, max: -1 }).map(String),
    name === 'limit' ? fc.oneof(fc.constant('0'), fc.integer({ min: 101, max: 1_000_000_000 }).map(String)) : fc.constant('-0.5'),
    fc.integer({ min: 200, max: 2_000 }).map((n) => '9'.repeat(n)),
  )

/** `cursor` values that are not a cursor of the list: junk text, truncated or foreign base64url. */
export const brokenCursor = () =>
  fc.oneof(
    fc.constantFrom('', ' ', 'x', '!!', '%00', 'AAAA', 'null', '..%2F..', 'x'.repeat(201)),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).map(encodeURIComponent),
    fc.string({ minLength: 1, maxLength: 60 }).map((s) => Buffer.from(s).toString('base64url')),
  )

/**
 * A query-string value that the parameter's schema refuses: for an enum, anything not listed;
 * for a UUID, anything that is not one.
 */
export function brokenQueryValue(parameter: OpenApiParameter): fc.Arbitrary<string> {
  if (parameter.name === 'limit' || parameter.name === 'offset') return brokenPagination(parameter.name)
  if (parameter.name === 'cursor') return brokenCursor()
  const schema = parameter.schema ?? {}
  const allowed = new Set<string>([...(schema.enum ?? []), ...((schema.anyOf ?? []) as any[]).flatMap((s) => s.enum ?? (s.const !== undefined ? [s.const] : []))].map(String))
  if (allowed.size === 0 && schema.format !== 'uuid')
    throw new Error(`no way to break the free-form query parameter ${parameter.name}; extend brokenQueryValue`)
  return fc
    .oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ unit: 'grapheme', maxLength: 10 }),
      fc.integer({ min: 300, max: 5_000 }).map((n) => 'x'.repeat(n)),
      fc.constantFrom('%00', 'null', '*', "' or 1=1 --", 'created ', ' CREATED', 'ready_for_pick_up', 'DELIVERED,IN_ORIGIN'),
    )
    .filter((s) => !allowed.has(s) && !allowed.has(decodeSafe(s)) && !UUID.test(s.trim()))
    .map((s) => (s.includes('%') ? s : encodeURIComponent(s)))
}

function decodeSafe(s: string) {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** A query string with at least one of `parameters` broken (or repeated), plus unknown junk parameters. */
export function brokenQuery(parameters: OpenApiParameter[]): fc.Arbitrary<string> {
  if (parameters.length === 0) throw new Error('brokenQuery needs a parameter to break')
  const one = fc.oneof(
    ...parameters.map((p) => brokenQueryValue(p).map((v) => `${encodeURIComponent(p.name)}=${v}`)),
    // a repeated parameter becomes a list, which no parameter takes
    ...parameters.map((p) => fc.constant(`${p.name}=1&${p.name}=2`)),
  )
  const extra = fc.array(
    fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 20 })).map(([k, v]) => `q_${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
    { maxLength: 3 },
  )
  return fc.tuple(one, extra).map(([broken, rest]) => [broken, ...rest].join('&'))
}

/** Junk `Authorization` header values (never a working credential). */
export const junkAuthorization: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
  fc.string({ maxLength: 60 }),
  fc.constantFrom('Bearer', 'Bearer ', 'bearer  a b', 'Basic dXNlcjpwYXNz', 'Token abc', 'Bearer null', 'Bearer undefined'),
  fc.integer({ min: 1_000, max: 8_000 }).map((n) => `Bearer ${'a'.repeat(n)}`),
  // a JWT-shaped token nobody signed
  fc
    .tuple(fc.base64String({ minLength: 4, maxLength: 40 }), fc.base64String({ minLength: 4, maxLength: 40 }))
    .map(([a, b]) => `Bearer eyJhbGciOiJIUzI1NiJ9.${a.replace(/=/g, '')}.${b.replace(/=/g, '')}`),
  fc.constant('Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiLCJyb2xlIjoiYWRtaW4ifQ.'),
)

/** Path segments that URL parsing folds away (`/a/../b` is `/b`): sent with a broken body too, or in a GET. */
const DOT_SEGMENTS = ['..', '%2e%2e', '.%2E', '%2E.']

export type FuzzRequest = {
  /** What was broken, for the counterexample report. */
  broken: string[]
  method: string
  /** Path and query string. */
  url: string
  headers: Record<string, string>
  body?: string
}

export type FuzzOptions = {
  /** Values of the route's path parameters that exist (so a request fails for its broken part only). */
  pathValues: Record<string, string>
  /** A minimal valid body for routes that take one (required when the document says so). */
  template?: BodyTemplate
  /** Headers with credentials (none, junk, each role's). */
  auth: fc.Arbitrary<Record<string, string>>
}

/**
 * Requests to `route` with at least one part of its input broken, whenever the route has input:
 * a body derived from the template with a field broken, or raw junk for a body; a path
 * parameter that names nothing; a query parameter out of range. Junk extras (unknown query
 * parameters, odd `x-request-id`, a body the route ignores) may come on top. `broken` is empty
 * only for routes without any input, where a 2xx is fine.
 */
export function invalidRequest(route: OpenApiRoute, options: FuzzOptions): fc.Arbitrary<FuzzRequest> {
  if (route.hasBody && !options.template) throw new Error(`${route.key} takes a body: give it a template`)
  const canHaveBody = route.method !== 'GET' && route.method !== 'HEAD'
  type Part = { broken: string[]; pathValues: Record<string, string>; query?: string; body?: { body: string; contentType?: string } }

  const validBody = options.template ? { body: JSON.stringify(options.template.body), contentType: 'application/json' } : undefined
  const bodyBreakers: fc.Arbitrary<{ body: string; contentType?: string; what: string }>[] = []
  if (route.hasBody) {
    bodyBreakers.push(brokenBody(options.template!).map((b) => ({ body: JSON.stringify(b), contentType: 'application/json', what: `body ${JSON.stringify(b).slice(0, 200)}` })))
    bodyBreakers.push(junkBody.map((j) => ({ ...j, what: `raw body (${j.contentType}) ${j.body.slice(0, 80)}` })))
  }
  const brokenBodyArb = bodyBreakers.length > 0 ? fc.oneof(...bodyBreakers) : undefined

  const modes: fc.Arbitrary<Part>[] = []
  if (brokenBodyArb)
    modes.push(
      brokenBodyArb.map((b) => ({ broken: [b.what], pathValues: options.pathValues, body: { body: b.body, contentType: b.contentType } })),
    )
  for (const name of route.pathParams) {
    const bodyForJunkPath: fc.Arbitrary<{ body: string; contentType?: string } | undefined> = !canHaveBody
      ? fc.constant(undefined)
      : route.hasBody
        ? fc.oneof(fc.constant(validBody), brokenBodyArb!)
        : fc.option(junkBody, { nil: undefined })
    modes.push(
      fc.tuple(junkPathSegment, bodyForJunkPath).map(([segment, body]) => ({
        broken: [`path {${name}} = ${segment.slice(0, 100)}`],
        pathValues: { ...options.pathValues, [name]: segment },
        body,
      })),
    )
    if (brokenBodyArb || !canHaveBody || !route.hasBody)
      modes.push(
        // A GET's folded URL is just another address (`/sellers/1/users/..` is `/sellers/1`, which an
        // admin may read): there only "no 5xx, errors as problem+json" holds.
        fc.tuple(fc.constantFrom(...DOT_SEGMENTS), route.hasBody ? brokenBodyArb! : fc.constant(undefined)).map(([segment, body]) => ({
          broken: route.method === 'GET' ? [] : [`path {${name}} = ${segment}`, ...(body ? ['body'] : [])],
          pathValues: { ...options.pathValues, [name]: segment },
          body,
        })),
      )
  }
  if (route.queryParams.length > 0)
    modes.push(
      fc.tuple(brokenQuery(route.queryParams), route.hasBody ? fc.oneof(fc.constant(validBody), brokenBodyArb!) : fc.constant(undefined)).map(
        ([query, body]) => ({ broken: [`query ${query.slice(0, 200)}`], pathValues: options.pathValues, query, body }),
      ),
    )
  if (modes.length === 0)
    modes.push(
      fc
        .tuple(
          fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 30 })), { maxLength: 4 }),
          canHaveBody ? fc.option(junkBody, { nil: undefined }) : fc.constant(undefined),
        )
        .map(([pairs, body]) => ({
          broken: [],
          pathValues: options.pathValues,
          query: pairs.map(([k, v]) => `q_${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
          body,
        })),
    )

  const extraHeaders = fc.record(
    {
      'x-request-id': fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('../../etc', 'a b c', '')),
      accept: fc.constantFrom('*/*', 'text/html', 'application/xml', 'application/json', ''),
    },
    { requiredKeys: [] },
  )

  return fc.tuple(fc.oneof(...modes), options.auth, extraHeaders).map(([part, auth, extra]) => {
    const headers: Record<string, string> = { ...extra, ...auth }
    const body = canHaveBody ? part.body : undefined
    if (body?.contentType) headers['content-type'] = body.contentType
    const path = fillPath(route.path, part.pathValues)
    return {
      broken: part.broken,
      method: route.method,
      url: part.query ? `${path}?${part.query}` : path,
      headers,
      body: body?.body,
    }
  })
}

/** Sends a generated request and answers what is wrong with the answer, or null. */
export async function checkInvalidRequest(app: HandlesRequests, request: FuzzRequest): Promise<{ answer: Answer; violation: string | null }> {
  const answer = await send(app, request.method, request.url, { headers: request.headers, body: request.body })
  if (answer.status >= 500) return { answer, violation: `status ${answer.status}: ${answer.text.slice(0, 300)}` }
  // a dot segment can fold the path to `/`, whose GET redirects to the docs
  const folded = new URL(request.url, 'http://localhost').pathname === '/' && request.method === 'GET'
  if (folded) return { answer, violation: answer.status === 302 && answer.headers.get('location') === '/swagger' ? null : `GET / answered ${answer.status}` }
  if (request.broken.length > 0) return { answer, violation: refusalViolation(answer) }
  return { answer, violation: answer.status >= 400 ? problemViolation(answer) : null }
}

// ---------------------------------------------------------------------------------------------
// Authorization matrices
// ---------------------------------------------------------------------------------------------

export type AuthzRequest = { path: string; body?: unknown; rawBody?: string; headers?: Record<string, string> }

/** One row of a policy table: the status each role gets for a valid request built for it. */
export type AuthzCase<R extends string> = {
  label?: string
  expect: Record<R, number>
  /** A valid request for `role` (fresh fixtures for state-changing routes are made here). */
  request: (role: R) => AuthzRequest | Promise<AuthzRequest>
  /** Roles whose 2xx answer must not contain any of `values` (another tenant's ids). */
  hidden?: { from: R[]; values: string[] }
}

/**
 * Sends `c`'s request as every role and answers what went wrong: a status other than the policy's,
 * an error that is not problem+json, a refused request that changed a row, or a refusal or a list
 * that shows `secrets` / hidden values of another tenant.
 */
export async function checkAuthzCase<R extends string>(
  options: {
    app: HandlesRequests
    db: Db<any>
    method: string
    roles: readonly R[]
    headersFor: (role: R) => Record<string, string>
    /** Strings of the fixtures' owners that no refusal may contain. */
    secrets: string[]
  },
  c: AuthzCase<R>,
): Promise<string[]> {
  const failures: string[] = []
  for (const role of options.roles) {
    const request = await c.request(role)
    const headers: Record<string, string> = { ...options.headersFor(role), ...request.headers }
    let body = request.rawBody
    if (request.body !== undefined) {
      body = JSON.stringify(request.body)
      headers['content-type'] ??= 'application/json'
    }
    const before = await databaseFingerprint(options.db)
    const answer = await send(options.app, options.method, request.path, { headers, body })
    const expected = c.expect[role]
    const where = `${c.label ? `[${c.label}] ` : ''}${role}: ${options.method} ${request.path}`
    if (answer.status !== expected) failures.push(`${where} answered ${answer.status}, policy says ${expected}: ${answer.text.slice(0, 200)}`)
    if (answer.status >= 400) {
      const problem = problemViolation(answer)
      if (problem) failures.push(`${where}: ${problem}`)
      const changed = fingerprintDiff(before, await databaseFingerprint(options.db))
      if (changed.length > 0) failures.push(`${where} was refused (${answer.status}) but changed ${changed.map((t) => t.table).join(', ')}`)
      // echoing what the caller sent (the id in its path) tells it nothing new
      const leaked = options.secrets.filter((s) => answer.text.includes(s) && !request.path.includes(s) && !(body ?? '').includes(s))
      if (leaked.length > 0) failures.push(`${where} refusal shows ${leaked.join(', ')}`)
    } else if (c.hidden?.from.includes(role)) {
      const leaked = c.hidden.values.filter((s) => answer.text.includes(s))
      if (leaked.length > 0) failures.push(`${where} shows another tenant's ${leaked.join(', ')}`)
    }
  }
  return failures
}

/** `{ role: status }` for every role, from a default and exceptions. */
export function statuses<R extends string>(roles: readonly R[], fallback: number, except: Partial<Record<R, number>> = {}): Record<R, number> {
  return Object.fromEntries(roles.map((r) => [r, except[r] ?? fallback])) as Record<R, number>
}

/**
 * The authorization matrix as bun tests: one test that the policy table and the OpenAPI document
 * list the same routes, then one test per documented route that runs every case of its policy
 * for every role. `context` is read when the tests run (after the file's `beforeAll`).
 */
export function authorizationMatrix<R extends string>(options: {
  routes: OpenApiRoute[]
  policy: Record<string, AuthzCase<R>[]>
  context: () => Omit<Parameters<typeof checkAuthzCase<R>>[0], 'method'>
}) {
  const { test, describe, expect } = require('bun:test') as typeof import('bun:test')
  test('the policy table and the OpenAPI document list the same routes', () => {
    expect(policyCoverage(options.routes, Object.keys(options.policy))).toEqual({ missingFromPolicy: [], notInDocument: [] })
  })
  describe('authorization matrix', () => {
    for (const route of options.routes) {
      test(route.key, async () => {
        const cases = options.policy[route.key]
        expect(cases, `no policy for ${route.key}`).toBeDefined()
        const failures: string[] = []
        for (const c of cases!) failures.push(...(await checkAuthzCase({ ...options.context(), method: route.method }, c)))
        expect(failures).toEqual([])
      })
    }
  })
}

/**
 * The junk-input property as bun tests: for every documented route, `numRuns` generated invalid
 * requests must each answer a 4xx problem+json (see `checkInvalidRequest`), and the database must
 * be exactly as before. `context` is read when the tests run.
 */
export function junkInputProperty(options: {
  routes: OpenApiRoute[]
  requests: (route: OpenApiRoute) => fc.Arbitrary<FuzzRequest>
  numRuns: number
  context: () => { app: HandlesRequests; db: Db<any> }
  /** Tables a refused request may still write to by design (e.g. failed-login throttling counters). */
  bookkeepingTables?: string[]
}) {
  const { test, describe, expect } = require('bun:test') as typeof import('bun:test')
  const bookkeeping = new Set(options.bookkeepingTables ?? [])
  describe('junk input answers 4xx problem+json and changes nothing', () => {
    for (const route of options.routes) {
      test(route.key, async () => {
        const { app, db } = options.context()
        const before = await databaseFingerprint(db)
        await fc.assert(
          fc.asyncProperty(options.requests(route), async (request) => {
            const { violation } = await checkInvalidRequest(app, request)
            if (violation) throw new Error(`${request.method} ${request.url.slice(0, 200)} [${request.broken.join('; ')}]: ${violation}`)
          }),
          { numRuns: options.numRuns },
        )
        expect(fingerprintDiff(before, await databaseFingerprint(db)).filter((d) => !bookkeeping.has(d.table))).toEqual([])
      })
    }
  })
}
