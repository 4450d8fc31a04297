import { describe, expect, test } from 'bun:test'
import { silentLogger, webhookHeaders } from '@logistics/shared'
import { send } from '@logistics/testkit/http'
import { type OpenApiRoute, openApiRoutes } from '@logistics/testkit/openapi-routes'
import { surfaceTests } from '@logistics/testkit/surface'
import { createApp } from '../src/app'
import { DEV_ADMIN_PASSWORD, loadConfig } from '../src/config'
import { DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_SELLERS } from '../src/demo-data'
import { demoLogin, requestExamples } from '../src/openapi-examples'
import { ADMIN, harnessOnStub } from './helpers'

/** The public HTTP surface of the ecommerce service (see surfaceTests), and its docs page. */

const { h, stub } = await harnessOnStub()
const { routes, doc } = await openApiRoutes(h.app)
const admin = await h.adminToken()
const seller = await h.seller('Surface Seller', admin)
const customer = await h.customer('Surface')

/** A token that passes the route's role check, or the receiver's signature of the body (the body is what is under test). */
function bodyRouteHeaders(route: OpenApiRoute, body: string): Record<string, string> {
  if (route.key === 'POST /webhooks/delivery') return webhookHeaders(h.config.WEBHOOK_SECRET, `msg_${crypto.randomUUID()}`, body) // signed, not bearer
  if (!route.operation.security) return {}
  const token = route.path.startsWith('/products') ? seller.token : route.path.startsWith('/purchases') ? customer.token : admin
  return { authorization: `Bearer ${token}` }
}

surfaceTests({
  context: () => ({ app: h.app, routes, doc, pathValues: { id: crypto.randomUUID(), user_id: crypto.randomUUID() }, bodyRouteHeaders }),
})

describe('ecommerce surface', () => {
  test('role routes check credentials, then the role, before the body', async () => {
    const bad = { rawBody: '{"items":"nope"}', headers: { 'content-type': 'application/json' } }
    expect((await h.request('POST', '/purchases', bad)).status).toBe(401)
    expect((await h.request('POST', '/purchases', { ...bad, token: seller.token })).status).toBe(403)
    expect((await h.request('POST', '/purchases', { ...bad, token: customer.token })).status).toBe(422)
    // a customer may not even learn whether a seller id is well-formed
    expect((await h.request('GET', '/sellers/not-a-uuid', { token: customer.token })).status).toBe(403)
  })

  test('answers that carry tokens or personal data are not cacheable', async () => {
    const login = await h.request('POST', '/auth/login', { body: ADMIN })
    expect(login.status).toBe(200)
    const me = await h.request('GET', '/me', { token: customer.token })
    const orders = await h.request('GET', '/orders', { token: customer.token })
    const registered = await h.request('POST', '/users', {
      body: { email: `s-${crypto.randomUUID().slice(0, 8)}@x.test`, password: 'password-123', name: 'S', shipping_address: '1 St' },
    })
    for (const r of [login, me, orders, registered]) {
      expect(r.status).toBeLessThan(300)
      expect(r.headers.get('cache-control')).toBe('no-store')
      expect(r.headers.get('x-content-type-options')).toBe('nosniff')
    }
  })

  test('the development docs walk through the demo logins, by role (the customer first); production docs never show them', async () => {
    const examples = doc.paths['/auth/login'].post.requestBody.content['application/json'].examples
    expect(Object.keys(examples)).toEqual(['customer', 'sellerAdmin', 'sellerUser', 'admin'])
    expect(examples.customer.value).toEqual({ email: DEMO_CUSTOMERS[0].email, password: DEMO_PASSWORD })
    expect(examples.admin.value).toEqual({ email: ADMIN.email, password: DEV_ADMIN_PASSWORD })
    for (const text of [DEV_ADMIN_PASSWORD, DEMO_PASSWORD, DEMO_SELLERS[0].admin.email, DEMO_SELLERS[1].staff.email])
      expect(doc.info.description).toContain(text)
    expect(doc.components.securitySchemes.bearer.description).toContain('access_token')

    const production = loadConfig({
      NODE_ENV: 'PRODUCTION',
      DATABASE_URL: 'memory://',
      LOG_LEVEL: 'silent',
      DELIVERY_API_KEY: 'K7x-a-real-delivery-key-9Qz',
      WEBHOOK_SECRET: `whsec_${Buffer.from('a real webhook secret of 32 bytes').toString('base64')}`,
      JWT_SECRET: 'a-real-JWT-secret-of-some-length-42',
      ADMIN_EMAIL: 'root@shop.example',
      ADMIN_PASSWORD: 'the-real-admin-password-7',
    })
    expect(demoLogin(production)).toBeUndefined()
    // even a production config that still had the development password shows nothing
    expect(demoLogin({ ...production, ADMIN_PASSWORD: DEV_ADMIN_PASSWORD })).toBeUndefined()
    const app = createApp({ db: h.db, config: production, logger: silentLogger, deliveryClient: stub.client() })
    const text = (await send(app, 'GET', '/swagger/json')).text
    for (const secret of [
      DEV_ADMIN_PASSWORD,
      DEMO_PASSWORD,
      DEMO_CUSTOMERS[0].email,
      'the-real-admin-password-7',
      'root@shop.example',
      ADMIN.email,
    ])
      expect(text).not.toContain(secret)
    expect(JSON.stringify(requestExamples(production))).not.toContain('root@shop.example')
  })
})
