import { afterAll, describe, expect, test } from 'bun:test'
import { silentLogger } from '@logistics/shared'
import { jsonDepthExceeds } from '@logistics/shared/http/body'
import { send } from '@logistics/testkit/http'
import { openApiRoutes } from '@logistics/testkit/openapi-routes'
import { surfaceTests } from '@logistics/testkit/surface'
import { createApp } from '../src/app'
import { DEV_API_KEYS, loadConfig } from '../src/config'
import { developmentApiKey } from '../src/openapi-examples'
import { type DeliveryTestContext, deliveryBody, KEY_A, setupDelivery } from './helpers'

/** The public HTTP surface of the delivery service (see surfaceTests), and its docs page. */

const ctx: DeliveryTestContext = await setupDelivery()
afterAll(() => ctx.close())
const { routes, doc } = await openApiRoutes(ctx.app)

surfaceTests({
  context: () => ({
    app: ctx.app,
    routes,
    doc,
    pathValues: { tracking_number: 'TRK-0000-0000-0000', id: crypto.randomUUID() },
    bodyRouteHeaders: () => ({ authorization: `Bearer ${KEY_A}` }),
  }),
})

describe('delivery surface', () => {
  test('POST /deliveries without a key and with a bad body answers 401, not 422', async () => {
    const r = await ctx.call('POST', '/deliveries', { key: null, body: { order: 'nope' } })
    expect(r.status).toBe(401)
    expect(r.headers.get('www-authenticate')).toBe('Bearer')
    expect(r.text).not.toContain('foreign_order_id')
  })

  test('answers with client data are not cacheable', async () => {
    const created = await ctx.call('POST', '/deliveries', { body: deliveryBody() })
    expect(created.status).toBe(201)
    for (const r of [created, await ctx.call('GET', '/deliveries'), await ctx.call('GET', '/webhooks')]) {
      expect(r.headers.get('cache-control')).toBe('no-store')
      expect(r.headers.get('x-content-type-options')).toBe('nosniff')
    }
    // the Swagger UI's static assets may be cached
    expect((await send(ctx.app, 'GET', '/swagger/assets/swagger-ui.css')).headers.get('cache-control')).toContain('max-age')
  })

  test('deep JSON is refused by a scan before parsing; strings holding brackets are not nesting', () => {
    expect(jsonDepthExceeds('{"a":'.repeat(33))).toBe(true)
    expect(jsonDepthExceeds('['.repeat(32) + ']'.repeat(32))).toBe(false)
    expect(jsonDepthExceeds(JSON.stringify({ text: '[{'.repeat(1000), quote: '"\\"[[[[' }))).toBe(false)
    expect(jsonDepthExceeds(JSON.stringify(['\\', '{'.repeat(40)]))).toBe(false)
  })

  test('the docs show the development API key only outside production', async () => {
    expect(developmentApiKey(loadConfig({}))).toBe('dev-delivery-key-change-me')
    expect(developmentApiKey({ NODE_ENV: 'Production', DELIVERY_API_KEYS: DEV_API_KEYS })).toBeUndefined()
    expect(developmentApiKey(loadConfig({ DELIVERY_API_KEYS: 'shop:a-real-key-of-this-shop' }))).toBeUndefined()

    const dev = createApp({ db: ctx.db, config: loadConfig({}), logger: silentLogger })
    const devDoc = (await openApiRoutes(dev)).doc
    expect(devDoc.info.description).toContain('dev-delivery-key-change-me')
    expect(devDoc.components.securitySchemes.bearer.description).toContain('dev-delivery-key-change-me')
    // the test app passes no key, as index.ts does in production
    expect(JSON.stringify(doc)).not.toContain('dev-delivery-key-change-me')
    expect(doc.paths['/deliveries'].post.requestBody.content['application/json'].example.order.foreign_order_id).toBeString()
  })
})
