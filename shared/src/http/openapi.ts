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

/**
 * The OpenAPI 3.1 document at /swagger/json and a Swagger UI page at /swagger whose assets the
 * service serves itself (no CDN: the page works offline).
 */
export function apiDocs({
  tags,
  ...info
}: { title: string; description: string; version: string; tags?: { name: string; description: string }[] }) {
  return new Elysia({ name: 'api-docs' })
    .use(
      openapi({
        path: '/swagger',
        provider: 'swagger-ui',
        documentation: {
          info,
          tags,
          components: {
            securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
          },
        },
        mapJsonSchema: { valibot: valibotToJsonSchema },
        swagger: {
          theme: '/swagger/assets/swagger-ui.css',
          cdn: '/swagger/assets/swagger-ui-bundle.js',
          autoDarkMode: false,
          persistAuthorization: true,
        } as never,
      }),
    )
    .get(
      '/swagger/assets/:file',
      ({ params, status }) => {
        if (!SWAGGER_ASSETS.has(params.file)) return status(404, 'Not found')
        return Bun.file(join(swaggerDist, params.file))
      },
      { detail: { hide: true } },
    )
}

/** `detail.security` of a route that needs a bearer token. */
export const bearerAuth = [{ bearer: [] as string[] }]
