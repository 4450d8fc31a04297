import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import * as v from 'valibot'
import { documentedAs, named } from '../src/documented'
import { API_VERSION, apiDocs, bearerAuth, etagHeader, retryAfterHeader } from '../src/http/openapi'
import { problemResponses } from '../src/problem'

const THINGS_PROBLEMS = {
  'thing-exists': { status: 409, description: 'A thing of that name exists.', example: { detail: 'A thing named Kettle exists' } },
  'thing-busy': {
    status: 409,
    description: 'The thing is busy.',
    example: { detail: 'The thing is busy; try again in 3 s', until: '2025-01-01T00:00:00.000Z' },
    extensions: { until: v.string() },
    retryAfter: true,
  },
} as const
const problems = problemResponses(THINGS_PROBLEMS)

const ThingSchema = named('TestThing', v.object({ id: v.pipe(v.string(), v.uuid()), size: v.nullable(v.picklist(['S', 'M'])) }))
const Count = documentedAs(v.optional(v.pipe(v.string(), v.transform(Number)), '5'), { type: 'integer', minimum: 1, default: 5 })

const html = { 'text/html': { schema: { type: 'string' as const } } }

const app = new Elysia()
  .use(apiDocs({ title: 'Test service', description: 'd', bearerDescription: 'a key', problems: THINGS_PROBLEMS }))
  .post('/things', ({ body }) => ({ id: crypto.randomUUID(), size: body.size ?? null }), {
    body: v.object({ name: v.pipe(v.string(), v.trim(), v.minLength(1)), size: v.optional(v.picklist(['S', 'M'])) }),
    response: { 200: ThingSchema, ...problems('thing-exists', 'thing-busy') },
    detail: { operationId: 'createThing', summary: 'Make a thing', security: bearerAuth(['maker']) },
  })
  .get('/things', () => [], { query: v.object({ count: Count }), detail: { operationId: 'listThings', summary: 'List' } })
  .get('/anonymous', () => 'x', { response: { 409: v.object({}) } })
  // a page for people: its own errors are pages; it reads its path parameter itself
  .get('/pages/:name', () => new Response('<p>', { headers: { 'content-type': 'text/html' } }), {
    detail: {
      operationId: 'getPage',
      parameters: [{ name: 'name', in: 'path', description: 'Any text', schema: { type: 'string' } }],
      responses: {
        200: { description: 'The page', content: html },
        404: { description: 'No such page', content: html },
        429: { description: 'Too many', headers: retryAfterHeader, content: html },
      },
    },
  })
  .get('/versioned', () => ({}), {
    response: { 200: v.object({}), 304: v.undefined() },
    detail: {
      operationId: 'getVersioned',
      responses: { 200: { description: 'The thing', headers: etagHeader }, 304: { description: 'Not modified', headers: etagHeader } },
    },
  })
  // a 404 page where its params schema also derives the 404 problem: the document cannot say both
  .get('/clash/:id', () => 'x', {
    params: v.object({ id: v.pipe(v.string(), v.uuid()) }),
    detail: { operationId: 'getClash', responses: { 404: { description: 'No such page', content: html } } },
  })
const get = (path: string) => app.handle(new Request(`http://localhost${path}`))

describe('API docs', () => {
  test('the Swagger UI page loads its assets from the service itself, not from a CDN', async () => {
    const html = await (await get('/swagger')).text()
    expect(html).toContain('/swagger/assets/swagger-ui-bundle.js')
    expect(html).toContain('/swagger/assets/swagger-ui.css')
    expect(html).not.toMatch(/unpkg|jsdelivr|cdnjs|https?:\/\/(?!localhost)/)
    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
      const res = await get(`/swagger/assets/${asset}`)
      expect(res.status).toBe(200)
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(10_000)
    }
    expect((await get('/swagger/assets/..%2Fpackage.json')).status).toBe(404)
  })

  test('named schemas are components referenced by $ref; documented-as schemas appear as documented', async () => {
    const spec = (await (await get('/swagger/json')).json()) as any
    expect(spec.openapi).toStartWith('3.1')
    expect(spec.info).toMatchObject({ title: 'Test service', version: API_VERSION })
    const op = spec.paths['/things'].post
    expect(op.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/TestThing' })
    // null allowed next to the enum, not folded into it
    expect(spec.components.schemas.TestThing.properties.size).toEqual({ anyOf: [{ enum: ['S', 'M'], type: 'string' }, { type: 'null' }] })
    expect(spec.components.schemas.TestThing.properties.id).toEqual({ type: 'string', format: 'uuid' })
    const schema = op.requestBody.content['application/json'].schema
    expect(schema.properties.name).toMatchObject({ type: 'string', minLength: 1 })
    expect(schema.required).toEqual(['name'])
    expect(spec.paths['/things'].get.parameters).toEqual([
      { name: 'count', in: 'query', required: false, schema: { type: 'integer', minimum: 1, default: 5 } },
    ])
    expect(JSON.stringify(spec)).not.toContain('$schema')
    expect(JSON.stringify(spec)).not.toContain('$defs')
    expect(spec.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer', description: 'a key' })
  })

  test('every status an operation can answer: its own problem codes and the ones its kind derives, with headers', async () => {
    const spec = (await (await get('/swagger/json')).json()) as any
    const op = spec.paths['/things'].post
    expect(op.security).toEqual([{ bearer: ['maker'] }])
    expect(Object.keys(op.responses)).toEqual(['200', '400', '401', '403', '409', '413', '415', '422', '500', '503'])
    expect(op.responses['401']).toEqual({ $ref: '#/components/responses/Unauthorized' })
    expect(op.responses['403']).toEqual({ $ref: '#/components/responses/Forbidden' })
    const conflict = op.responses['409']
    expect(Object.keys(conflict.content['application/problem+json'].examples)).toEqual(['thing-exists', 'thing-busy'])
    expect(conflict.headers['Retry-After'].required).toBe(false)
    expect(conflict.content['application/problem+json'].examples['thing-busy'].value).toMatchObject({
      type: '/problems/thing-busy',
      status: 409,
      code: 'thing-busy',
      until: '2025-01-01T00:00:00.000Z',
    })
    expect(spec.components.responses.DatabaseUnavailable.headers['Retry-After']).toEqual({ $ref: '#/components/headers/Retry-After' })
    expect(spec.components.responses.MethodNotAllowed.headers.Allow).toEqual({ $ref: '#/components/headers/Allow' })
    // a public operation says so
    expect(spec.paths['/things'].get.security).toEqual([])
  })

  test('a body route may answer 503 request-bodies-busy (the bound on bodies in flight), with Retry-After', async () => {
    const spec = (await (await get('/swagger/json')).json()) as any
    expect(spec.paths['/things'].post.responses['503']).toEqual({ $ref: '#/components/responses/Unavailable' })
    const unavailable = spec.components.responses.Unavailable
    expect(Object.keys(unavailable.content['application/problem+json'].examples)).toEqual(['database-unavailable', 'request-bodies-busy'])
    expect(unavailable.headers['Retry-After']).toEqual({ $ref: '#/components/headers/Retry-After' })
    // a route without a body does not read one: only the database's 503
    expect(spec.paths['/things'].get.responses['503']).toEqual({ $ref: '#/components/responses/DatabaseUnavailable' })
  })

  test("a page's own errors are pages (with their headers); a path parameter the route reads itself is described", async () => {
    const spec = (await (await get('/swagger/json')).json()) as any
    const page = spec.paths['/pages/{name}'].get
    expect(Object.keys(page.responses)).toEqual(['200', '404', '429', '500', '503'])
    for (const status of ['200', '404', '429']) expect(Object.keys(page.responses[status].content)).toEqual(['text/html'])
    expect(page.responses['429'].headers['Retry-After']).toEqual({ $ref: '#/components/headers/Retry-After' })
    expect(page.responses['500']).toEqual({ $ref: '#/components/responses/InternalError' })
    expect(page.parameters).toEqual([{ name: 'name', in: 'path', description: 'Any text', required: true, schema: { type: 'string' } }])
    const versioned = spec.paths['/versioned'].get.responses
    expect(versioned['200'].headers.ETag).toEqual({ $ref: '#/components/headers/ETag' })
    expect(versioned['304'].content).toBeUndefined()
    expect(spec.components.headers.ETag.required).toBe(true)
  })

  test('a route without an operation id, or a problem status without codes, is a contract issue of the document', async () => {
    const spec = (await (await get('/swagger/json')).json()) as any
    expect(spec['x-contract-issues']).toEqual([
      'GET /anonymous: name the operation (detail.operationId: a verb, e.g. listOrders, dispatchOrder)',
      "GET /anonymous 409: list the problem codes it answers (problems('…'))",
      'GET /clash/{id} 404: answers a page (detail.responses) and problem codes (not-found) alike',
    ])
  })

  test('GET /problems/{code} describes each code; GET /problems lists them', async () => {
    const page = await get('/problems/thing-busy')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const html = await page.text()
    expect(html).toContain('The thing is busy.')
    expect(html).toContain('<code>POST /things</code>')
    expect(await (await get('/problems')).text()).toContain('/problems/thing-exists')
    expect((await get('/problems/__proto__')).status).toBe(404)
  })
})
