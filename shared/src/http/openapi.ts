import { dirname, join } from 'node:path'
import { openapi } from '@elysiajs/openapi'
import { toJsonSchema } from '@valibot/to-json-schema'
import { Elysia } from 'elysia'
import type { GenericSchema } from 'valibot'

/** valibot → JSON Schema for the OpenAPI document (input shape, transforms kept, no `$schema`). */
export function valibotToJsonSchema(schema: GenericSchema) {
  const json = toJsonSchema(schema, { typeMode: 'input', errorMode: 'ignore' }) as Record<string, unknown>
  delete json.$schema
  return json
}

const SWAGGER_ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png'])
const swaggerDist = dirname(require.resolve('swagger-ui-dist/package.json'))

const SPEC_PATH = '/swagger/json'

const STATUS_TEXT: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No content',
  304: 'Not modified: the `If-None-Match` ETag is current (no body)',
  400: 'Bad request: malformed or too deeply nested JSON',
  401: 'Missing or invalid credentials',
  403: 'Authenticated, but not allowed',
  404: 'Not found (or not yours to see)',
  405: 'Method not allowed on this path',
  409: 'Conflict with the current state',
  413: 'Body over 1 MB',
  415: 'Body not sent as application/json',
  422: 'Invalid fields (listed in `errors`)',
  429: 'Too many attempts',
  500: 'Internal error',
  502: 'Upstream service failed',
  503: 'Unavailable',
  504: 'Upstream service timed out',
}

type Operation = {
  requestBody?: { content?: Record<string, { schema?: unknown; example?: unknown }>; required?: boolean; description?: string }
  // biome-ignore lint/suspicious/noExplicitAny: a JSON Schema as @elysiajs/openapi writes it
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: any }> }>
  [key: string]: unknown
}

export type ApiDocsOptions = {
  title: string
  description: string
  version: string
  tags?: { name: string; description: string }[]
  /** How to get a bearer credential (shown on the security scheme), e.g. the development key. */
  bearerDescription?: string
  /** Example request bodies by `METHOD /openapi/path`, over the body schemas' own `v.examples`. */
  examples?: Record<string, unknown>
}

/**
 * Finishes the generated document: each request body is the route's valibot schema as
 * `application/json` only (the services parse nothing else) with an example value (the schema's
 * first `v.examples`, or `examples`); responses get a real description; errors are
 * `application/problem+json`; 204s have no content.
 */
// biome-ignore lint/suspicious/noExplicitAny: the generated OpenAPI document and Elysia's route hooks are untyped JSON, edited in place
function polish(doc: any, routes: { method: string; path: string; hooks: any }[], examples: Record<string, unknown>) {
  const out = structuredClone(doc)
  for (const route of routes) {
    const path = route.path.replace(/:([^/]+)/g, '{$1}')
    const operation: Operation | undefined = out.paths?.[path]?.[route.method.toLowerCase()]
    if (!operation) continue
    const key = `${route.method.toUpperCase()} ${path}`
    const body = route.hooks?.body
    if (body?.['~standard'] && body.kind === 'schema') {
      const schema = valibotToJsonSchema(body) as { examples?: unknown[] }
      const example = key in examples ? examples[key] : schema.examples?.[0]
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema, ...(example === undefined ? {} : { example }) } },
      }
    } else if (operation.requestBody?.content) {
      const json = operation.requestBody.content['application/json']
      const example = examples[key]
      operation.requestBody.content = json ? { 'application/json': example === undefined ? json : { ...json, example } } : {}
    }
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      if (!response.description || response.description.startsWith('Response for status'))
        response.description = STATUS_TEXT[status] ?? `Status ${status}`
      if (status === '204' || status === '304') delete response.content
      else if (Number(status) >= 400 && response.content?.['application/json'])
        response.content = { 'application/problem+json': response.content['application/json'] }
    }
  }
  return out
}

/**
 * The OpenAPI 3.1 document at /swagger/json and a Swagger UI page at /swagger (and /swagger/;
 * `GET /` redirects there) whose assets the service serves itself (no CDN: the page works offline).
 */
export function apiDocs({ tags, bearerDescription, examples = {}, ...info }: ApiDocsOptions) {
  const docs = new Elysia({ name: 'api-docs' })
  const polished = new WeakMap<object, unknown>()
  return docs
    .onAfterHandle(({ path, responseValue }) => {
      if (path !== SPEC_PATH || !responseValue || typeof responseValue !== 'object' || responseValue instanceof Response) return
      let doc = polished.get(responseValue)
      if (!doc) {
        // biome-ignore lint/suspicious/noExplicitAny: getGlobalRoutes is Elysia's, not in its public types
        doc = polish(responseValue, (docs as any).getGlobalRoutes(), examples)
        polished.set(responseValue, doc)
      }
      return doc as Record<string, unknown>
    })
    .use(
      openapi({
        path: '/swagger',
        specPath: SPEC_PATH,
        provider: 'swagger-ui',
        documentation: {
          info,
          tags,
          components: {
            securitySchemes: {
              bearer: { type: 'http', scheme: 'bearer', ...(bearerDescription ? { description: bearerDescription } : {}) },
            },
          },
        },
        mapJsonSchema: { valibot: valibotToJsonSchema },
        swagger: {
          // absolute: the page works at /swagger and /swagger/ alike
          url: SPEC_PATH,
          theme: '/swagger/assets/swagger-ui.css',
          cdn: '/swagger/assets/swagger-ui-bundle.js',
          autoDarkMode: false,
          persistAuthorization: true,
        } as never,
      }),
    )
    .get(
      '/swagger/assets/:file',
      ({ params, set, status }) => {
        if (!SWAGGER_ASSETS.has(params.file)) return status(404, 'Not found')
        set.headers['cache-control'] = 'public, max-age=86400'
        return Bun.file(join(swaggerDist, params.file))
      },
      { detail: { hide: true } },
    )
    .get('/', ({ redirect }) => redirect('/swagger', 302), { detail: { hide: true } })
}

/** `detail.security` of a route that needs a bearer token. */
export const bearerAuth = [{ bearer: [] as string[] }]
