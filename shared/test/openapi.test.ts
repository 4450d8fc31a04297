import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import * as v from 'valibot'
import { apiDocs, bearerAuth } from '../src/http/openapi'

const app = new Elysia().use(apiDocs({ title: 'Test service', description: 'd', version: '1.2.3' })).post('/things', ({ body }) => body, {
  body: v.object({ name: v.pipe(v.string(), v.trim(), v.minLength(1)), size: v.optional(v.pipe(v.string(), v.transform(Number))) }),
  detail: { summary: 'Make a thing', security: bearerAuth },
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

  test('the OpenAPI 3.1 document describes valibot schemas, transforms included, with bearer auth', async () => {
    const spec = (await (await get('/swagger/json')).json()) as any
    expect(spec.openapi).toStartWith('3.1')
    expect(spec.info).toMatchObject({ title: 'Test service', version: '1.2.3' })
    const op = spec.paths['/things'].post
    expect(op.security).toEqual([{ bearer: [] }])
    const schema = op.requestBody.content['application/json'].schema
    expect(schema.properties.name).toMatchObject({ type: 'string', minLength: 1 })
    expect(schema.properties.size).toMatchObject({ type: 'string' })
    expect(schema.required).toEqual(['name'])
    expect(JSON.stringify(spec)).not.toContain('$schema')
    expect(spec.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' })
  })
})
