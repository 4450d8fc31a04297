/**
 * `bun run docs`: writes the repository's reference documentation from the code itself.
 *
 * - docs/openapi/delivery.json, docs/openapi/ecommerce.json: both services' OpenAPI documents
 *   (`GET /swagger/json` of each app, built in-process on an in-memory PGlite database), which
 *   `bun run lint` checks with Redocly; and docs/openapi/*.d.ts, the types openapi-typescript
 *   generates from them (what a client developer gets; scripts/demo.ts is written against them).
 * - docs/api.md: every route of both services, from those documents: method, path, auth, summary,
 *   description, parameters, request fields, responses and their error codes; plus the conventions
 *   (written by hand below) and each service's table of error codes.
 * - docs/data-model.md: an ER diagram (mermaid) of both databases from the drizzle schemas, with the
 *   tables' doc comments.
 * - docs/environment.md: every variable of both services, from their config schemas
 *   (scripts/docs-environment.ts).
 * - README.md: the walkthrough's code blocks, copied from scripts/walkthrough.sh (the script CI runs).
 * - docs/testing.md and README.md: the test suite's facts (last measured duration, PostgreSQL-only tests)
 *   in their generated regions: scripts/test-facts.ts.
 *
 * `bun run docs --check` exits 1 when a file is out of date (test/docs.test.ts does the same).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { COMMON_PROBLEMS, type ProblemCatalog, silentLogger } from '@logistics/shared'
import { openDatabase } from '@logistics/shared/db'
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core'
import openapiTS, { astToString } from 'openapi-typescript'
import { createApp as createDeliveryApp } from '../delivery/src/app'
import { loadConfig as loadDeliveryConfig } from '../delivery/src/config'
import { schema as deliverySchema, openDeliveryDatabase } from '../delivery/src/db'
import { DELIVERY_PROBLEMS } from '../delivery/src/problems'
import { createApp as createEcommerceApp } from '../ecommerce/src/app'
import { loadConfig as loadEcommerceConfig } from '../ecommerce/src/config'
import * as ecommerceSchema from '../ecommerce/src/db/schema'
import { ECOMMERCE_PROBLEMS } from '../ecommerce/src/problems'
import { renderEnvironment } from './docs-environment'
import { root } from './services'
import { syncTestFacts } from './test-facts'

// --- OpenAPI documents --------------------------------------------------------------------------

type Schema = {
  $ref?: string
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  enum?: unknown[]
  const?: unknown
  anyOf?: Schema[]
  oneOf?: Schema[]
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  minItems?: number
  maxItems?: number
  default?: unknown
  deprecated?: boolean
  description?: string
}
type Operation = {
  tags?: string[]
  summary?: string
  description?: string
  security?: Record<string, string[]>[]
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema; description?: string }[]
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> }
  responses?: Record<string, OpenApiResponse>
}
type OpenApiResponse = {
  $ref?: string
  description?: string
  headers?: Record<string, unknown>
  content?: Record<string, { schema?: Schema; examples?: Record<string, unknown> }>
}
type OpenApi = {
  info: { title: string; version: string; description?: string }
  tags?: { name: string; description?: string }[]
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, Schema>; responses?: Record<string, OpenApiResponse> }
}

/** `node` with its `$ref`s into the document replaced by what they point at (api.md shows every field inline). */
function inline<T>(doc: OpenApi, node: T, depth = 0): T {
  if (Array.isArray(node)) return node.map((n) => inline(doc, n, depth)) as T
  if (!node || typeof node !== 'object' || depth > 30) return node
  const { $ref, ...rest } = node as { $ref?: string }
  const target = $ref?.startsWith('#/')
    ? $ref
        .slice(2)
        .split('/')
        .reduce<unknown>((n, key) => (n as Record<string, unknown> | undefined)?.[key], doc)
    : undefined
  const merged = target ? { ...(target as object), ...rest } : rest
  return Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, inline(doc, v, depth + 1)])) as T
}

/** Both services' OpenAPI documents, from apps built in-process on in-memory databases. */
export async function openApiDocuments(): Promise<{ delivery: OpenApi; ecommerce: OpenApi }> {
  const deliveryDb = await openDeliveryDatabase('memory://')
  const ecommerceDb = await openDatabase({
    url: 'memory://',
    service: 'ecommerce',
    schema: ecommerceSchema,
    migrationsFolder: join(root, 'ecommerce/drizzle'),
  })
  try {
    const apps = {
      // A key of its own: the development key would show on the page (as it does on a development server).
      delivery: createDeliveryApp({
        db: deliveryDb.db,
        config: loadDeliveryConfig({ DELIVERY_API_KEYS: 'docs:a-key-the-docs-never-show', LOG_LEVEL: 'silent' }),
        logger: silentLogger,
      }),
      ecommerce: createEcommerceApp({
        db: ecommerceDb.db,
        config: loadEcommerceConfig({ DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
        logger: silentLogger,
      }),
    }
    const get = async (app: { handle(r: Request): Response | Promise<Response> }) => {
      const response = await app.handle(new Request('http://localhost/swagger/json'))
      if (!response.ok) throw new Error(`GET /swagger/json answered ${response.status}`)
      return (await response.json()) as OpenApi
    }
    return { delivery: await get(apps.delivery), ecommerce: await get(apps.ecommerce) }
  } finally {
    await deliveryDb.close()
    await ecommerceDb.close()
  }
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n+/g, ' ')

/** One line describing a schema's type and limits. */
function typeOf(schema: Schema | undefined): string {
  if (!schema) return 'any'
  const alternatives = schema.anyOf ?? schema.oneOf
  if (alternatives) return [...new Set(alternatives.map(typeOf).join(' or ').split(' or '))].join(' or ')
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type ?? (schema.properties ? 'object' : 'any')]).filter(Boolean)
  const nullable = types.includes('null')
  let base = types.filter((t) => t !== 'null').join(' | ') || 'null'
  if (schema.enum)
    base = schema.enum
      .filter((e) => e !== null)
      .map((e) => `\`${e}\``)
      .join(', ')
  if (base === 'array') base = `array of ${typeOf(schema.items)}`
  const limits: string[] = []
  if (schema.format) limits.push(schema.format)
  if (schema.minLength !== undefined || schema.maxLength !== undefined)
    limits.push(`${schema.minLength ?? 0}–${schema.maxLength ?? '∞'} chars`)
  if (schema.minimum !== undefined || schema.maximum !== undefined) limits.push(`${schema.minimum ?? '−∞'}–${schema.maximum ?? '∞'}`)
  if (schema.minItems !== undefined || schema.maxItems !== undefined) limits.push(`${schema.minItems ?? 0}–${schema.maxItems ?? '∞'} items`)
  if (schema.pattern) limits.push(`pattern \`${schema.pattern}\``)
  if (schema.default !== undefined) limits.push(`default \`${schema.default}\``)
  return `${base}${nullable ? ' or null' : ''}${limits.length ? ` (${limits.join(', ')})` : ''}`
}

/** Every field of an object schema, flattened to dotted paths (`order.products[].sku`). */
function fields(schema: Schema | undefined, prefix = ''): { path: string; type: string; required: boolean; notes: string }[] {
  if (!schema?.properties) return []
  const rows: { path: string; type: string; required: boolean; notes: string }[] = []
  for (const [name, property] of Object.entries(schema.properties)) {
    const path = `${prefix}${name}`
    const isObject = !!property.properties
    const isArrayOfObjects = !!property.items?.properties
    const notes = [property.deprecated ? 'accepted alias (deprecated spelling)' : '', property.description ?? ''].filter(Boolean).join('; ')
    rows.push({
      path,
      type: isObject
        ? 'object'
        : isArrayOfObjects
          ? `array of objects${typeOf({ ...property, type: undefined, items: undefined }).replace(/^any/, '')}`
          : typeOf(property),
      required: (schema.required ?? []).includes(name),
      notes,
    })
    if (isObject) rows.push(...fields(property, `${path}.`))
    if (isArrayOfObjects) rows.push(...fields(property.items, `${path}[].`))
  }
  return rows
}

/** A compact shape of a response body: `{ id, status, items: [{ sku, … }] }`, two levels deep. */
function shape(schema: Schema | undefined, depth = 0): string {
  if (!schema) return ''
  const alternatives = schema.anyOf ?? schema.oneOf
  if (alternatives) return alternatives.map((s) => shape(s, depth)).join(' or ')
  if (schema.items) return `[${shape(schema.items, depth)}]`
  if (!schema.properties) return typeOf(schema)
  if (depth >= 2) return '{…}'
  const parts = Object.entries(schema.properties).map(([name, property]) =>
    property.properties || property.items?.properties ? `${name}: ${shape(property, depth + 1)}` : name,
  )
  return `{ ${parts.join(', ')} }`
}

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created (with `Location`)',
  '202': 'Accepted',
  '204': 'No Content',
  '304': 'Not Modified (your `If-None-Match` is current)',
  '400': 'malformed JSON',
  '401': 'missing or invalid credentials',
  '403': 'not allowed for this role',
  '404': 'unknown, or not yours to see',
  '405': 'known path, wrong method (with `Allow`)',
  '409': 'state conflict',
  '413': 'body too large',
  '415': 'body not sent as `application/json`',
  '422': 'invalid fields (`errors` lists each)',
  '429': 'too many attempts (with `Retry-After`)',
  '502': 'the delivery service failed; nothing changed',
  '503': 'unavailable; nothing changed',
  '504': 'the delivery service timed out; nothing changed',
}

function renderOperation(method: string, path: string, op: Operation, auth: string): string {
  const out: string[] = []
  out.push(`#### \`${method.toUpperCase()} ${path}\``, '')
  if (op.summary) out.push(`${op.summary}.`.replace(/\.\.$/, '.'), '')
  if (op.description) out.push(op.description, '')
  const signed = (op.parameters ?? []).some((p) => p.in === 'header' && p.name === 'webhook-signature')
  out.push(
    `- **Auth:** ${op.security?.length ? auth : signed ? 'Standard Webhooks signature (`webhook-signature`), no bearer token' : 'none'}`,
  )
  const params = op.parameters ?? []
  for (const where of ['path', 'query', 'header'] as const) {
    const list = params.filter((p) => p.in === where)
    if (!list.length) continue
    const label = { path: 'Path parameters', query: 'Query parameters', header: 'Headers' }[where]
    out.push(
      `- **${label}:** ${list.map((p) => `\`${p.name}\`${p.required ? ' (required)' : ''}: ${typeOf(p.schema)}${p.description ? ` — ${p.description}` : ''}`).join('; ')}`,
    )
  }
  const body = op.requestBody?.content?.['application/json']?.schema
  if (body) {
    const rows = fields(body)
    out.push(`- **Request body** (\`application/json\`${op.requestBody?.required ? ', required' : ''}):`, '')
    if (rows.length) {
      out.push('  | field | type | required | notes |', '  | --- | --- | --- | --- |')
      for (const r of rows) out.push(`  | \`${r.path}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${cell(r.notes)} |`)
    } else out.push(`  ${typeOf(body)}`)
    out.push('')
  }
  out.push('- **Responses:**')
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    const json = response.content?.['application/json']?.schema
    const text = (response.description ?? STATUS_TEXT[status] ?? '').split('\n')[0]
    const headers = Object.keys(response.headers ?? {}).filter((h) => h !== 'X-Request-Id')
    const withHeaders = headers.length ? ` (${headers.map((h) => `\`${h}\``).join(', ')})` : ''
    const codes = Object.keys(response.content?.['application/problem+json']?.examples ?? {})
    const body = json ? shape(json) : ''
    const page = response.content?.['text/html'] !== undefined
    const detail = codes.length
      ? ` — ${codes.map((c) => `\`${c}\``).join(', ')}`
      : page
        ? ' — HTML page'
        : body && body !== 'any'
          ? ` — \`${body}\``
          : ''
    out.push(`  - \`${status}\` ${text}${withHeaders}${detail}`)
  }
  out.push('')
  return out.join('\n')
}

function renderService(document: OpenApi, title: string, auth: string, problems: ProblemCatalog): string {
  const doc = inline(document, { ...document, components: undefined })
  const out: string[] = [`## ${title}`, '', `${doc.info.title} ${doc.info.version}. ${doc.info.description ?? ''}`.trim(), '']
  const tags = doc.tags?.map((t) => t.name) ?? []
  const operations: { tag: string; method: string; path: string; op: Operation }[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    if (path.startsWith('/swagger')) continue
    for (const method of METHODS)
      if (item[method] && !item[method]!.tags?.includes('docs'))
        operations.push({ tag: item[method]!.tags?.[0] ?? 'other', method, path, op: item[method]! })
  }
  for (const tag of new Set(operations.map((o) => o.tag))) if (!tags.includes(tag)) tags.push(tag)
  out.push('| method | path | auth | summary |', '| --- | --- | --- | --- |')
  for (const tag of tags)
    for (const o of operations.filter((x) => x.tag === tag))
      out.push(`| ${o.method.toUpperCase()} | \`${o.path}\` | ${o.op.security?.length ? 'yes' : ''} | ${cell(o.op.summary ?? '')} |`)
  out.push(
    '| GET | `/swagger`, `/swagger/json` | | Swagger UI, OpenAPI 3.1 document |',
    "| GET | `/problems`, `/problems/{code}` | | what each error code means (where a problem's `type` points) |",
    '',
  )
  for (const tag of tags) {
    const list = operations.filter((o) => o.tag === tag)
    if (!list.length) continue
    const description = doc.tags?.find((t) => t.name === tag)?.description
    out.push(`### ${title.split(' ')[0]}: ${tag}`, '', ...(description ? [`${description}.`, ''] : []))
    for (const o of list) out.push(renderOperation(o.method, o.path, o.op, auth))
  }
  out.push(
    `### ${title.split(' ')[0]}: error codes`,
    '',
    `Every \`code\` the service answers (\`GET /problems/{code}\` on the service describes each; each operation above lists its own).`,
    '',
    '| code | status | meaning |',
    '| --- | --- | --- |',
  )
  const catalog: ProblemCatalog = { ...COMMON_PROBLEMS, ...problems }
  for (const [code, d] of Object.entries(catalog).sort(([a], [b]) => a.localeCompare(b)))
    out.push(`| \`${code}\` | ${d.status}${d.retryAfter ? ' (`Retry-After`)' : ''} | ${cell(d.description)} |`)
  out.push('')
  return out.join('\n')
}

// --- hand-written prose ------------------------------------------------------------------------------

const API_INTRO = `# API reference

<!-- Generated by \`bun run docs\` (scripts/docs.ts) from both services' OpenAPI documents. Do not edit:
     change the route definitions or the prose in scripts/docs.ts, then run \`bun run docs\`. -->

Both services describe themselves at runtime: \`/swagger\` (Swagger UI) and \`/swagger/json\` (OpenAPI 3.1),
also committed as [openapi/delivery.json](openapi/delivery.json) and [openapi/ecommerce.json](openapi/ecommerce.json)
with the types a generated client gets ([openapi.md](openapi.md): how they are built and checked, how to generate a
client). This page is the same information in one file, generated from those documents, plus the conventions every
route follows. \`/swagger/json\` imports as is into Postman (Import → Link or File), Insomnia (Import → From URL) or
Bruno (Import Collection → OpenAPI V3), which gives a ready collection of every request.

- [Conventions](#conventions): JSON, authentication, errors, status codes, lists, statuses, webhooks
- The environment variables of both services: [environment.md](environment.md)
- [Delivery service](#delivery-service-port-3001) (port 3001)
- [Ecommerce service](#ecommerce-service-port-3000) (port 3000)
- The databases: [data-model.md](data-model.md); how the brief was read: [assumptions.md](assumptions.md); HTTP limits
  (bodies, credentials, headers, offsets): [http.md](http.md); dispatching and its settlement:
  [design-dispatch.md](design-dispatch.md)
- The public tracking page of a parcel: [tracking-page.md](tracking-page.md)

## Conventions

**JSON.** Request and response bodies are JSON with snake_case fields; send \`content-type: application/json\`.
Times are ISO 8601 in UTC. Ids are UUIDs; tracking numbers look like \`TRK-7KQ2-M9XD-4HPA\` (60 random bits in
Crockford base32: unique and unguessable). Required text is trimmed of white space, and text of invisible
characters only (white space, controls, zero-width and bidi characters, U+FEFF, Hangul fillers, U+2800…)
counts as empty: 422 \`<field> must not be empty\`.

**Authentication.** Delivery: \`Authorization: Bearer <api key>\`; keys belong to API clients (provisioned by
\`DELIVERY_API_KEYS\`), and a client sees only its own deliveries and webhooks (another client's id answers 404).
Ecommerce: \`POST /auth/login { email, password }\` answers \`{ access_token, token_type: "Bearer", expires_in,
user }\`; send \`Authorization: Bearer <access_token>\`. Roles: \`admin\` (marketplace administrator), \`seller\`
(seller user; \`is_seller_admin\` marks a Seller Administrator User, who also adds and lists the seller's users)
and \`customer\`. Credentials are checked before the body: without valid credentials a request answers 401
whatever its body, and not one byte of that body is read ([http.md](http.md)).

**Errors.** Every error is \`application/problem+json\` (RFC 9457): \`type\`, \`title\`, \`status\`, \`detail\`, a
machine-readable \`code\` (e.g. \`insufficient-stock\`, \`warehouse-address-required\`, \`invalid-transition\`), and
for 422 an \`errors\` list of \`{ path, message }\`, one per invalid field. Each operation below lists the codes it
can answer, and each service's error codes are tabled at the end of its section; a problem's \`type\`
(\`/problems/{code}\`) resolves against the service to a page describing its code. A 500 says only the request id (the
stack goes to the log). Every response carries \`x-request-id\` (yours, or a generated one); ecommerce forwards
it to the delivery service, so one id follows a dispatch through both logs.

**Status codes.** 200 read/update, 201 created (with \`Location\`), 204 deleted or webhook accepted, 400 malformed
or empty JSON (\`malformed-body\`) or JSON nested deeper than 32 levels (\`body-too-deep\`), 401 missing or invalid
credentials, 403 authenticated but not allowed, 404 unknown (or not yours to see),
405 known path with the wrong method (with \`Allow\`), 409 state conflict (stock, transition, duplicate), 413 body
over 1 MB, 415 body not sent as \`application/json\`, 422 invalid fields, 429 too many attempts (with
\`Retry-After\`), 502/503/504 the other service failed (nothing changed); 503 \`database-unavailable\` with
\`Retry-After\` while the database is unreachable; 503 \`request-bodies-busy\` with \`Retry-After\` while the process
receives as many bodies as it may at once. Limits on bodies, headers and offsets: [http.md](http.md).

**Lists.** Every list takes \`limit\` (default 20, max 100), \`offset\` and \`cursor\`, and answers \`{ data, total,
limit, offset, next_cursor }\`. Pass \`next_cursor\` back unchanged as \`?cursor=\` (same filters) for the next page:
constant time at any depth, no row skipped or repeated while rows are added; it is null on the last page, and a
cursor that is not one of the list's answers 422. \`total\` is exact up to 10 000 matching rows, above that
PostgreSQL's estimate (never below 10 001): page by cursor, not by \`total\`. \`offset\` goes from 0 to
9 007 199 254 740 991 (2^53 − 1; an empty page past the end, 422 beyond it).

**Idempotency.** \`POST /deliveries\` is idempotent per API client on \`order.foreign_order_id\` (the same order
again answers 200 with the existing delivery; another body for it answers 409). \`POST /purchases\` honours an
\`Idempotency-Key\` header for 24 h (the same key and body answer the first result again; an older key counts as new). The webhook receiver applies
each \`webhook-id\` once.

**Delivery statuses.** \`READY_FOR_PICK_UP → IN_ORIGIN → IN_ROUTE_OF_DELIVERY → (50 % NOT_DELIVERED | 50 %
DELIVERED)\`, \`NOT_DELIVERED → IN_ROUTE_OF_DELIVERY\`, \`DELIVERED\` final. Every \`STATUS_TICK_SECONDS\` each open
delivery moves exactly one step, also with several replicas on one database.

**Order statuses.** \`created → confirmed → dispatched → delivered\`, and \`cancelled\`. \`delivered\` is set by the
\`DELIVERED\` webhook; \`delivery.status\` follows every delivery status. Who may cancel when:
[assumptions.md](assumptions.md#cancelling-an-order).

**Tracking page.** Every delivery's JSON has a \`tracking_url\`, \`PUBLIC_URL/track/{tracking_number}\`: a public
page (no credentials) for the person waiting for the parcel, with its status, progress and dated history, and
nothing else (no name, address, product or order id), live while open. Ecommerce's orders carry it as
\`delivery.tracking_url\` once dispatched. Its errors are HTML pages (one 404 for unknown, malformed and
withdrawn numbers); it is rate-limited per client address (429 with \`Retry-After\`). Privacy, the live
mechanism, the limits and the headers: [tracking-page.md](tracking-page.md).

**Webhooks** ([Standard Webhooks](https://www.standardwebhooks.com/)). Each status change of a client's delivery,
the first \`READY_FOR_PICK_UP\` included (\`previous_status: null\`), is POSTed to each of its webhooks:

\`\`\`http
POST /your/endpoint
content-type: application/json
webhook-id: 0b6f0e5e-…            (the event id: stable across retries)
webhook-timestamp: 1767225600     (seconds)
webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>", keyed by the secret>

{ "type": "delivery.status_changed", "timestamp": "…",
  "data": { "tracking_number", "foreign_order_id", "status", "previous_status", "date" } }
\`\`\`

The key is the base64-decoded part of the secret after \`whsec_\`. For 24 h after a secret rotation (the same url
registered again with another secret) the header carries two signatures, \`v1,<new> v1,<old>\`: accept either.
Any 2xx acknowledges the event; anything else
(3xx included: redirects are not followed), a timeout or a refused connection is retried with exponential
backoff and jitter for up to 24 h (then given up; \`POST /webhooks/{id}/recover\` re-queues it). How sending is
shared between clients, a failing endpoint's backoff and disabling, the limits and retention:
[webhooks.md](webhooks.md). Delivery is at least once: a receiver keeps the \`webhook-id\`s it has applied
and ignores a repeat (ecommerce does), and should refuse a timestamp more than 5 minutes from its clock. Every
attempt is listed by \`GET /webhooks/{id}/attempts\`. Any Standard Webhooks library verifies the signature, e.g.
\`new Webhook(secret).verify(body, headers)\` with the \`standardwebhooks\` npm package.
`

async function renderApi(docs?: { delivery: OpenApi; ecommerce: OpenApi }): Promise<string> {
  docs ??= await openApiDocuments()
  return [
    API_INTRO,
    renderService(docs.delivery, 'Delivery service (port 3001)', 'API key: `Authorization: Bearer <api key>`', DELIVERY_PROBLEMS),
    renderService(docs.ecommerce, 'Ecommerce service (port 3000)', 'JWT: `Authorization: Bearer <access_token>`', ECOMMERCE_PROBLEMS),
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()
    .concat('\n')
}

// --- the data model -----------------------------------------------------------------------------------

/** Relations kept without a foreign key on purpose (bulk writes of the tick); shown dashed. */
const LOGICAL_RELATIONS = [
  { from: 'tracking_events', column: 'delivery_id', to: 'deliveries' },
  { from: 'webhook_events', column: 'delivery_id', to: 'deliveries' },
  { from: 'webhook_events', column: 'subscription_id', to: 'webhook_subscriptions' },
]

/** `/** … *\/` doc comments of `export const x = pgTable('name'`, by table name. */
function tableComments(source: string): Map<string, string> {
  const comments = new Map<string, string>()
  for (const m of source.matchAll(/\/\*\*((?:[^*]|\*(?!\/))*)\*\/\s*export const \w+ = pgTable\(\s*'([^']+)'/g)) {
    comments.set(
      m[2]!,
      m[1]!
        .split('\n')
        .map((l) => l.replace(/^\s*\*\s?/, '').trim())
        .filter(Boolean)
        .join(' '),
    )
  }
  return comments
}

const mermaidType = (sqlType: string) =>
  sqlType === 'timestamp with time zone' ? 'timestamptz' : sqlType.replace(/\(.*\)/, '').replace(/\s+/g, '_')

function erDiagram(schema: Record<string, unknown>): { diagram: string; tables: ReturnType<typeof getTableConfig>[] } {
  const tables = Object.values(schema)
    .filter((t): t is PgTable => !!t && typeof t === 'object' && Symbol.for('drizzle:IsDrizzleTable') in t)
    .map((t) => getTableConfig(t))
  const lines = ['erDiagram']
  const names = new Set(tables.map((t) => t.name))
  for (const table of tables) {
    for (const fk of table.foreignKeys) {
      const ref = fk.reference()
      const column = ref.columns[0]!
      const target = getTableConfig(ref.foreignTable).name
      const unique = table.columns.find((c) => c.name === column.name)?.isUnique
      lines.push(`  ${target} ${column.notNull ? '||' : '|o'}--${unique ? 'o|' : 'o{'} ${table.name} : "${column.name}"`)
    }
  }
  for (const rel of LOGICAL_RELATIONS)
    if (names.has(rel.from) && names.has(rel.to)) lines.push(`  ${rel.to} ||..o{ ${rel.from} : "${rel.column} (no FK)"`)
  for (const table of tables) {
    const fkColumns = new Set(table.foreignKeys.flatMap((fk) => fk.reference().columns.map((c) => c.name)))
    const uniqueColumns = new Set([
      ...table.columns.filter((c) => c.isUnique).map((c) => c.name),
      ...table.indexes
        .filter((i) => i.config.unique && i.config.columns.length === 1)
        .map((i) => (i.config.columns[0] as { name: string }).name),
    ])
    const pkColumns = new Set([
      ...table.columns.filter((c) => c.primary).map((c) => c.name),
      ...table.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name)),
    ])
    lines.push(`  ${table.name} {`)
    for (const column of table.columns) {
      const keys = [pkColumns.has(column.name) && 'PK', fkColumns.has(column.name) && 'FK', uniqueColumns.has(column.name) && 'UK']
        .filter(Boolean)
        .join(', ')
      lines.push(`    ${mermaidType(column.getSQLType())} ${column.name}${keys ? ` ${keys}` : ''}${column.notNull ? '' : ' "nullable"'}`)
    }
    lines.push('  }')
  }
  return { diagram: lines.join('\n'), tables }
}

function renderTables(tables: ReturnType<typeof getTableConfig>[], comments: Map<string, string>): string {
  const rows = tables.map((t) => {
    const uniques = t.indexes
      .filter((i) => i.config.unique)
      .map((i) => `unique (${i.config.columns.map((c) => (c as { name: string }).name).join(', ')})${i.config.where ? ' where …' : ''}`)
    return `| \`${t.name}\` | ${cell(comments.get(t.name) ?? '')} | ${uniques.join('; ')} |`
  })
  return ['| table | what | unique constraints (besides the primary key) |', '| --- | --- | --- |', ...rows].join('\n')
}

function renderDataModel(): string {
  const delivery = erDiagram(deliverySchema)
  const ecommerce = erDiagram(ecommerceSchema)
  const deliveryComments = tableComments(readFileSync(join(root, 'delivery/src/db/schema.ts'), 'utf8'))
  const ecommerceComments = tableComments(readFileSync(join(root, 'ecommerce/src/db/schema.ts'), 'utf8'))
  return `# Data model

<!-- Generated by \`bun run docs\` (scripts/docs.ts) from the drizzle schemas (delivery/src/db/schema.ts,
     ecommerce/src/db/schema.ts). Do not edit: change a schema, generate its migration, run \`bun run docs\`. -->

Each service owns one PostgreSQL database (or one PGlite database) and never reads the other's: they meet only
through the HTTP API. An order on the ecommerce side points at its parcel by \`orders.tracking_number\`; the
delivery side knows the order as \`deliveries.foreign_order_id\` (the ecommerce order id), unique per API client.
Dashed lines are relations kept without a foreign key on purpose: the tick appends hundreds of thousands of rows
at once and the per-row key check was a quarter of its time; deletes clean up explicitly.

## Delivery database

\`\`\`mermaid
${delivery.diagram}
\`\`\`

${renderTables(delivery.tables, deliveryComments)}

## Ecommerce database

\`\`\`mermaid
${ecommerce.diagram}
\`\`\`

${renderTables(ecommerce.tables, ecommerceComments)}
`
}

// --- main ------------------------------------------------------------------------------------------------

// --- the README's walkthrough ------------------------------------------------------------------------

/**
 * The README with each `<!-- walkthrough: NAME -->` … `<!-- /walkthrough -->` region holding the block of
 * scripts/walkthrough.sh between `# >>> readme: NAME` and `# <<< readme`, as a sh code block. Throws when
 * a block has no region or a region no block.
 */
export function syncWalkthrough(readme: string, script: string): string {
  const blocks = new Map([...script.matchAll(/^# >>> readme: (\S+)\n([\s\S]*?)^# <<< readme$/gm)].map((m) => [m[1]!, m[2]!]))
  const used = new Set<string>()
  const problems: string[] = []
  const text = readme.replace(
    /(<!-- walkthrough: (\S+) -->\n)[\s\S]*?(<!-- \/walkthrough -->)/g,
    (whole, open: string, name: string, close: string) => {
      const block = blocks.get(name)
      if (block === undefined) {
        problems.push(`README.md has a walkthrough region "${name}" that scripts/walkthrough.sh has no block for`)
        return whole
      }
      used.add(name)
      return `${open}\`\`\`sh\n${block}\`\`\`\n${close}`
    },
  )
  for (const name of blocks.keys())
    if (!used.has(name)) problems.push(`scripts/walkthrough.sh's block "${name}" has no region in README.md`)
  if (problems.length) throw new Error(problems.join('; '))
  return text
}

/** The types of a generated client (openapi-typescript, its defaults plus a type per named schema). */
async function clientTypes(doc: OpenApi, name: string): Promise<string> {
  const ast = await openapiTS(doc as never, { rootTypes: true, rootTypesNoSchemaPrefix: true, silent: true })
  return `// Generated by \`bun run docs\` (scripts/docs.ts) with openapi-typescript from ${name}.json. Do not edit.\n\n${astToString(ast)}`
}

export async function renderDocs(docs?: { delivery: OpenApi; ecommerce: OpenApi }): Promise<Record<string, string>> {
  docs ??= await openApiDocuments()
  const json = (doc: OpenApi) => `${JSON.stringify(doc, null, 2)}\n`
  const read = (path: string) => readFileSync(join(root, path), 'utf8')
  return {
    'docs/api.md': await renderApi(docs),
    'docs/data-model.md': renderDataModel(),
    'docs/environment.md': renderEnvironment(),
    'docs/openapi/delivery.json': json(docs.delivery),
    'docs/openapi/ecommerce.json': json(docs.ecommerce),
    'docs/openapi/delivery.d.ts': await clientTypes(docs.delivery, 'delivery'),
    'docs/openapi/ecommerce.d.ts': await clientTypes(docs.ecommerce, 'ecommerce'),
    'docs/testing.md': syncTestFacts(read('docs/testing.md'), ['test-facts', 'postgres-only']),
    'README.md': syncTestFacts(syncWalkthrough(read('README.md'), read('scripts/walkthrough.sh')), ['test-facts']),
  }
}

if (import.meta.main) {
  const check = process.argv.includes('--check')
  const files = await renderDocs()
  let stale = 0
  let written = 0
  for (const [path, text] of Object.entries(files)) {
    const file = join(root, path)
    const current = await Bun.file(file)
      .text()
      .catch(() => '')
    if (current === text) continue
    if (check) {
      console.error(`${path} is out of date: run \`bun run docs\``)
      stale++
    } else {
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, text)
      console.log(`wrote ${path}`)
      written++
    }
  }
  if (!stale && !written) console.log('docs are up to date')
  process.exit(stale ? 1 : 0)
}
