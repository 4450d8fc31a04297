import { describe, expect, test } from 'bun:test'
import Ajv2020 from 'ajv/dist/2020'
import { type Answer, type HandlesRequests, send } from './http'
import { dereference, fillPath, type OpenApiRoute, servesHtml } from './openapi-routes'
import { problemViolation } from './problem'

/**
 * The public HTTP surface of a service as bun tests, driven by its own OpenAPI document (so new
 * routes are covered): abusive bodies are refused cleanly, credentials are checked before the
 * body, a wrong method answers 405 with `Allow`, every answer carries `nosniff`, JSON routes
 * refuse other content types (415), and the docs are complete and reachable.
 */

const DEEP = '{"a":'.repeat(20_000)
/** A JSON body just over the 1 MB limit. */
const OVERSIZED = JSON.stringify({ junk: 'x'.repeat(1024 * 1024) })
const DEEP_CLOSED = `${DEEP}1${'}'.repeat(20_000)}`

/** Bodies no route takes, each with its content type: none may get past a missing credential. */
const INVALID_BODIES: { label: string; body: string; contentType?: string }[] = [
  { label: 'schema-invalid JSON', body: '{"junk":true,"items":"nope"}', contentType: 'application/json' },
  { label: 'JSON scalar', body: '"just a string"', contentType: 'application/json' },
  { label: 'malformed JSON', body: '{"a":', contentType: 'application/json' },
  { label: 'deeply nested JSON', body: DEEP_CLOSED, contentType: 'application/json' },
  { label: 'unterminated deep JSON', body: DEEP, contentType: 'application/json' },
  { label: 'empty JSON body', body: '', contentType: 'application/json' },
  { label: 'form body (curl -d)', body: 'a=1&b=2', contentType: 'application/x-www-form-urlencoded' },
  { label: 'text body', body: 'hello', contentType: 'text/plain' },
  { label: 'no content type', body: '{"a":1}' },
  { label: 'body over 1 MB', body: OVERSIZED, contentType: 'application/json' },
]

const isProblem = (answer: Answer, status: number) => {
  if (answer.status !== status) return `answered ${answer.status}, not ${status}: ${answer.text.slice(0, 200)}`
  return problemViolation(answer)
}

export type SurfaceOptions = {
  /** Read when the tests run. */
  context: () => {
    app: HandlesRequests
    routes: OpenApiRoute[]
    /** The app's OpenAPI document (`openApiRoutes`). */
    doc: any
    /** Existing path values, so a request fails for the part under test only. */
    pathValues: Record<string, string>
    /**
     * Headers that get a body route past authentication and authorization with `body`: a token
     * of the role the route needs, or a signed receiver's signature of the body.
     */
    bodyRouteHeaders: (route: OpenApiRoute, body: string) => Record<string, string>
  }
}

const secured = (route: OpenApiRoute) => Array.isArray(route.operation.security) && route.operation.security.length > 0
/** A receiver whose credentials are a Standard Webhooks signature (its required `webhook-signature` header). */
const signed = (route: OpenApiRoute) =>
  (route.operation.parameters ?? []).some((p: any) => p.in === 'header' && p.name === 'webhook-signature' && p.required)

export function surfaceTests(options: SurfaceOptions) {
  describe('public surface', () => {
    test('deeply nested JSON (20 000 levels, no credentials) answers a 4xx problem+json on every body route', async () => {
      const { app, routes, pathValues } = options.context()
      const failures: string[] = []
      for (const route of routes.filter((r) => r.hasBody))
        for (const body of [DEEP_CLOSED, DEEP]) {
          const answer = await send(app, route.method, fillPath(route.path, pathValues), {
            headers: { 'content-type': 'application/json' },
            body,
          })
          // an authenticated or signed route refuses the missing credential first; a public one the
          // nesting itself (400)
          const expected = secured(route) || signed(route) ? 401 : 400
          const violation = answer.status >= 400 && answer.status < 500 ? isProblem(answer, expected) : `answered ${answer.status}`
          if (violation) failures.push(`${route.key}: ${violation}`)
          else if (expected === 400 && answer.json.code !== 'body-too-deep' && answer.json.code !== 'malformed-body')
            failures.push(`${route.key}: code ${answer.json.code}`)
        }
      expect(failures).toEqual([])
    })

    test('deeply nested JSON with valid credentials answers 400 body-too-deep', async () => {
      const { app, routes, pathValues, bodyRouteHeaders } = options.context()
      const failures: string[] = []
      for (const route of routes.filter((r) => r.hasBody)) {
        const answer = await send(app, route.method, fillPath(route.path, pathValues), {
          headers: { ...bodyRouteHeaders(route, DEEP_CLOSED), 'content-type': 'application/json' },
          body: DEEP_CLOSED,
        })
        const violation = isProblem(answer, 400) ?? (answer.json.code === 'body-too-deep' ? null : `code ${answer.json.code}`)
        if (violation) failures.push(`${route.key}: ${violation}`)
      }
      expect(failures).toEqual([])
    })

    test('a body over 1 MB with valid credentials answers 413 problem+json on every body route', async () => {
      const { app, routes, pathValues, bodyRouteHeaders } = options.context()
      const failures: string[] = []
      for (const route of routes.filter((r) => r.hasBody)) {
        const answer = await send(app, route.method, fillPath(route.path, pathValues), {
          headers: {
            ...bodyRouteHeaders(route, OVERSIZED),
            'content-type': 'application/json',
            'content-length': String(OVERSIZED.length),
          },
          body: OVERSIZED,
        })
        const violation = isProblem(answer, 413) ?? (answer.json.code === 'body-too-large' ? null : `code ${answer.json.code}`)
        if (violation) failures.push(`${route.key}: ${violation}`)
      }
      expect(failures).toEqual([])
    })

    test('every authenticated route of the document answers 401 without valid credentials, whatever its body, path or query', async () => {
      const { app, routes } = options.context()
      const authenticated = routes.filter(secured)
      expect(authenticated.length).toBeGreaterThan(5)
      const failures: string[] = []
      for (const route of authenticated) {
        // path parameters that name nothing and an invalid query: still 401, not 404/422
        const junkPath = fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, 'not-an-id'])))
        const url = route.queryParams.length > 0 ? `${junkPath}?limit=-5&status=NOPE` : junkPath
        const bodies = route.method === 'GET' || route.method === 'DELETE' ? [undefined, ...INVALID_BODIES.slice(0, 1)] : INVALID_BODIES
        for (const credential of [undefined, 'Bearer not-a-valid-credential', 'Basic dXNlcjpwYXNz'])
          for (const b of bodies) {
            const headers: Record<string, string> = {}
            if (credential) headers.authorization = credential
            if (b?.contentType) headers['content-type'] = b.contentType
            if (b && route.method !== 'GET') headers['content-length'] = String(Buffer.byteLength(b.body))
            const answer = await send(app, route.method, url, { headers, body: route.method === 'GET' ? undefined : b?.body })
            const violation = isProblem(answer, 401)
            if (violation) failures.push(`${route.key} [${credential ?? 'no credentials'}, ${b?.label ?? 'no body'}]: ${violation}`)
            else if (answer.headers.get('cache-control') !== 'no-store')
              failures.push(`${route.key}: cache-control ${answer.headers.get('cache-control')}`)
          }
      }
      expect(failures).toEqual([])
    })

    test('a known path asked with another method answers 405 problem+json with Allow listing its methods', async () => {
      const { app, routes, pathValues } = options.context()
      const byPath = new Map<string, Set<string>>()
      for (const r of routes) byPath.set(r.path, (byPath.get(r.path) ?? new Set()).add(r.method))
      const failures: string[] = []
      for (const [path, methods] of byPath)
        for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !methods.has(m))) {
          const answer = await send(app, method, fillPath(path, pathValues), {
            headers: { 'content-type': 'application/json' },
            body: method === 'GET' ? undefined : '{}',
          })
          const violation = isProblem(answer, 405)
          if (violation) {
            failures.push(`${method} ${path}: ${violation}`)
            continue
          }
          const allow = (answer.headers.get('allow') ?? '')
            .split(',')
            .map((m) => m.trim())
            .filter(Boolean)
            .sort()
          const expected = [...methods, ...(methods.has('GET') ? ['HEAD'] : [])].sort()
          if (JSON.stringify(allow) !== JSON.stringify(expected))
            failures.push(`${method} ${path}: Allow ${allow} (documented ${[...methods]})`)
        }
      expect(failures).toEqual([])
      // an unknown path is still a 404
      expect((await send(app, 'PUT', '/no/such/path')).status).toBe(404)
    })

    test('JSON routes answer 415 problem+json to other content types, naming application/json, without echoing the body', async () => {
      const { app, routes, pathValues, bodyRouteHeaders } = options.context()
      const failures: string[] = []
      const long = 'x'.repeat(5_000)
      for (const route of routes.filter((r) => r.hasBody)) {
        const path = fillPath(route.path, pathValues)
        for (const [contentType, body] of [
          ['application/x-www-form-urlencoded', 'email=a%40b.test&password=x'],
          ['text/plain', long],
          ['application/xml', '<a/>'],
          ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--'],
          ['application/json; charset=utf-16', '{}'],
        ] as const) {
          const answer = await send(app, route.method, path, {
            headers: { ...bodyRouteHeaders(route, body), 'content-type': contentType },
            body,
          })
          const violation =
            isProblem(answer, 415) ??
            (answer.json.detail?.includes('content-type: application/json') ? null : `detail "${answer.json.detail}"`) ??
            (answer.text.includes(long.slice(0, 100)) ? 'echoes the body' : null)
          if (violation) failures.push(`${route.key} [${contentType}]: ${violation}`)
        }
        // a JSON string of 5 000 characters: refused as invalid, not echoed back whole
        const answer = await send(app, route.method, path, {
          headers: { ...bodyRouteHeaders(route, JSON.stringify(long)), 'content-type': 'application/json' },
          body: JSON.stringify(long),
        })
        const violation = isProblem(answer, 422) ?? (answer.text.includes(long.slice(0, 100)) ? 'echoes the body' : null)
        if (violation) failures.push(`${route.key} [JSON string]: ${violation}`)
      }
      expect(failures).toEqual([])
    })

    test('every answer says X-Content-Type-Options: nosniff (errors and docs too)', async () => {
      const { app, routes } = options.context()
      const failures: string[] = []
      const requests: [string, string, string?][] = [
        ['GET', '/health'],
        ['GET', '/no/such/path'],
        ['PUT', routes[0]!.path.replace(/\{[^}]+\}/g, 'x')],
        ['POST', routes.find((r) => r.hasBody)!.path.replace(/\{[^}]+\}/g, 'x'), '{'],
        ['GET', routes.find(secured)!.path.replace(/\{[^}]+\}/g, 'x')],
        ['GET', '/'],
        ['GET', '/swagger'],
        ['GET', '/swagger/'],
        ['GET', '/swagger/json'],
        ['GET', '/swagger/assets/swagger-ui.css'],
      ]
      for (const [method, path, body] of requests) {
        const answer = await send(app, method, path, { headers: body ? { 'content-type': 'application/json' } : {}, body })
        if (answer.headers.get('x-content-type-options') !== 'nosniff') failures.push(`${method} ${path} (${answer.status})`)
      }
      expect(failures).toEqual([])
    })

    test('GET / redirects to /swagger, and /swagger/ loads the document like /swagger', async () => {
      const { app } = options.context()
      const root = await send(app, 'GET', '/')
      expect(root.status).toBe(302)
      expect(root.headers.get('location')).toBe('/swagger')
      for (const page of ['/swagger', '/swagger/']) {
        const html = await send(app, 'GET', page)
        expect(html.status).toBe(200)
        // an absolute URL: a relative "swagger/json" from /swagger/ is /swagger/swagger/json
        const url = /"url":"([^"]+)"/.exec(html.text)?.[1]
        expect(url).toBe('/swagger/json')
        expect(new URL(url!, `http://localhost${page}`).pathname).toBe('/swagger/json')
      }
      expect((await send(app, 'GET', '/swagger/json')).status).toBe(200)
    })

    test('the document: no contract issues, every body a named schema, every problem type a page that answers', async () => {
      const { app, routes, doc } = options.context()
      expect(doc['x-contract-issues']).toBeUndefined()
      const failures: string[] = []
      for (const route of routes) {
        const body = route.operation.requestBody?.content?.['application/json']?.schema
        if (body && !body.$ref) failures.push(`${route.key}: request body schema is not a named one`)
        for (const [status, response] of Object.entries<any>(route.operation.responses ?? {})) {
          const schema = response.content?.['application/json']?.schema
          if (schema && !schema.$ref) failures.push(`${route.key} ${status}: response schema is not a named one`)
        }
      }
      const codes: string[] = doc.paths['/problems/{code}'].get.parameters[0].schema.enum
      expect(codes.length).toBeGreaterThan(10)
      for (const code of codes) {
        const page = await send(app, 'GET', `/problems/${code}`)
        if (page.status !== 200 || !page.text.includes(code)) failures.push(`GET /problems/${code}: ${page.status}`)
      }
      // every type URI the document's examples show is one of them
      for (const [, type] of JSON.stringify(doc).matchAll(/"type":"(\/problems\/[^"]+)"/g))
        if (!codes.includes(type!.slice('/problems/'.length))) failures.push(`example type ${type} has no page`)
      expect((await send(app, 'GET', '/problems')).status).toBe(200)
      expect((await send(app, 'GET', '/problems/no-such-code')).status).toBe(404)
      expect(failures).toEqual([])
    })

    test('the document: JSON-only request bodies with valid examples, real response descriptions, problem+json errors (HTML pages: HTML errors)', async () => {
      const { routes, doc } = options.context()
      const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, validateSchema: false })
      ajv.addSchema(doc, 'doc')
      // the document's own references, resolved in the document
      const valid = (schema: any, value: unknown) =>
        ajv.validate(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')), value)
      const failures: string[] = []
      for (const route of routes) {
        const { requestBody, responses } = route.operation
        if (requestBody) {
          const types = Object.keys(requestBody.content ?? {})
          if (JSON.stringify(types) !== '["application/json"]') failures.push(`${route.key}: request body types ${types}`)
          const media = requestBody.content?.['application/json']
          const examples = media?.examples ? Object.values<any>(media.examples).map((e) => e.value) : [media?.example]
          if (!media?.schema) failures.push(`${route.key}: request body without a schema`)
          else if (examples[0] === undefined) failures.push(`${route.key}: request body without an example`)
          else
            for (const example of examples)
              if (!valid(media.schema, example)) failures.push(`${route.key}: example invalid: ${ajv.errorsText()}`)
        }
        for (const [status, given] of Object.entries<any>(responses ?? {})) {
          const response = dereference(doc, given)
          for (const [type, media] of Object.entries<any>(response.content ?? {}))
            for (const [name, example] of Object.entries<any>(media.examples ?? {}))
              if (!valid(media.schema, example.value)) failures.push(`${route.key} ${status} ${type} example ${name}: ${ajv.errorsText()}`)
          if (!response.description || /^Response for status/.test(response.description))
            failures.push(`${route.key} ${status}: description "${response.description}"`)
          const types = Object.keys(response.content ?? {})
          if ((status === '204' || status === '304') && types.length > 0) failures.push(`${route.key} ${status} has content ${types}`)
          // a page for people answers its own errors as pages too; everything else, and the failures every
          // route shares (a shared response: 500, the database's 503), as problem+json
          const errorType = servesHtml(route) && !given.$ref ? 'text/html' : 'application/problem+json'
          if (Number(status) >= 400 && JSON.stringify(types) !== JSON.stringify([errorType]))
            failures.push(`${route.key} ${status}: ${types}`)
          if (Number(status) < 300 && status !== '204' && !Object.values<any>(response.content ?? {}).some((media) => media?.schema))
            failures.push(`${route.key} ${status}: no schema`)
        }
      }
      expect(failures).toEqual([])
    })
  })
}
