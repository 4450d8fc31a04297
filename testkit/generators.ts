import fc from 'fast-check'
import type { OpenApiParameter } from './openapi-routes'

/** fast-check generators of invalid input: bodies, raw junk, path segments, query values, credentials. */

/** A long string of whitespace, non-ASCII, emoji, RTL override and a quote: no text field takes it. */
const hugeString = fc.integer({ min: 1_000, max: 3_000 }).map((n) => ' \u00e9\u{1D11E} \u202e"x'.repeat(n).slice(0, n * 5))

/** Strings that are never an acceptable value of a text field (empty, blank, NUL, oversized). */
const brokenString = fc.oneof(
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
const brokenNumber = fc.oneof(
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
    const options: fc.Arbitrary<unknown>[] = [
      replacement.map((v) =>
        withAt(template.body, path, (p, k) => {
          p[k] = v
        }),
      ),
    ]
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
  return fc
    .tuple(broken, fc.option(junkKeys, { nil: undefined }))
    .map(([body, extra]) => (extra && body && typeof body === 'object' && !Array.isArray(body) ? { ...extra, ...body } : body))
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
    .oneof(
      fc.integer(),
      fc.string({ maxLength: 30 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
    )
    .map((v) => ({ body: JSON.stringify(v), contentType: 'application/json' })),
  // deeply nested junk
  fc.integer({ min: 50, max: 3_000 }).map((n) => ({ body: '['.repeat(n) + ']'.repeat(n), contentType: 'application/json' })),
  fc.integer({ min: 50, max: 1_000 }).map((n) => ({ body: `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`, contentType: 'application/json' })),
  // random objects with unknown keys (valibot drops unknown keys, so required ones are missing)
  fc
    .dictionary(
      fc.string({ minLength: 1, maxLength: 10 }).map((k) => `z${k}`),
      fc.jsonValue({ maxDepth: 3 }),
      { maxKeys: 5 },
    )
    .map((v) => ({ body: JSON.stringify(v), contentType: 'application/json' })),
  // an empty body that claims to be JSON
  fc.constant({ body: '', contentType: 'application/json' }),
  // junk under other content types
  fc
    .tuple(
      fc.constantFrom('text/plain', 'application/octet-stream', 'application/xml', 'application/json; charset=utf-16', undefined),
      fc.oneof(
        fc.constantFrom('{', 'hello', '<a/>'),
        fc.string({ maxLength: 40 }).map((s) => `{${s}`),
      ),
    )
    .map(([contentType, body]) => ({ body, contentType })),
)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Not blank, and not `.` or `..`: a URL folds those away (`/deliveries/.` is `/deliveries/`, another
 * route), so they are no junk value of the parameter (the dot-segment cases are tested apart).
 */
const isJunkSegment = (s: string) => s.trim() !== '' && s !== '.' && s !== '..'

/**
 * Path segments (already URL-encoded) that name no existing resource: non-UUIDs, random UUIDs,
 * very long values, broken or odd percent-encodings, NUL, unicode.
 */
export const junkPathSegment: fc.Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).filter(isJunkSegment).map(encodeURIComponent),
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
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).filter(isJunkSegment).map(encodeURIComponent),
)

/** Query values for `limit` / `offset` that are out of range or not whole numbers. */
const brokenPagination = (name: 'limit' | 'offset') =>
  fc.oneof(
    fc.constantFrom('abc', '-1', '1.5', '1e3', '', ' ', '0x10', '+1', 'NaN', '١٢', '%00'),
    fc.integer({ min: -1_000_000, max: -1 }).map(String),
    name === 'limit'
      ? fc.oneof(fc.constant('0'), fc.constant('9999999999'), fc.integer({ min: 101, max: 1_000_000_000 }).map(String))
      : fc.oneof(fc.constant('-0.5'), fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n }).map(String)),
    fc.integer({ min: 200, max: 2_000 }).map((n) => '9'.repeat(n)),
  )

/** `cursor` values that are not a cursor of the list: junk text, truncated or foreign base64url. */
const brokenCursor = () =>
  fc.oneof(
    fc.constantFrom('', ' ', 'x', '!!', '%00', 'AAAA', 'null', '..%2F..', 'x'.repeat(201)),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).map(encodeURIComponent),
    fc.string({ minLength: 1, maxLength: 60 }).map((s) => Buffer.from(s).toString('base64url')),
  )

/**
 * A query-string value that the parameter's schema refuses: for an enum, anything not listed;
 * for a UUID, anything that is not one.
 */
function brokenQueryValue(parameter: OpenApiParameter): fc.Arbitrary<string> {
  if (parameter.name === 'limit' || parameter.name === 'offset') return brokenPagination(parameter.name)
  if (parameter.name === 'cursor') return brokenCursor()
  const schema = parameter.schema ?? {}
  const allowed = new Set<string>(
    [...(schema.enum ?? []), ...((schema.anyOf ?? []) as any[]).flatMap((s) => s.enum ?? (s.const !== undefined ? [s.const] : []))].map(
      String,
    ),
  )
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
    fc
      .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 20 }))
      .map(([k, v]) => `q_${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
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
  fc.constant(
    'Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiLCJyb2xlIjoiYWRtaW4ifQ.',
  ),
)
