/**
 * Credentials before any body byte, on both services: every route whose OpenAPI operation needs
 * credentials answers a request without valid ones 401 without reading one byte of its body,
 * declared (content-length) or streamed (chunked); with valid ones, and on public routes, the
 * body is read. The body is a stream that records whether it was ever pulled.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { fillPath, openApiRoutes } from '@logistics/testkit/openapi-routes'
import { KEY_A, setupDelivery } from '../delivery/test/helpers'
import { createHarness, type Harness } from '../ecommerce/test/helpers'

type App = { handle(request: Request): Response | Promise<Response> }

/** A JSON body as a stream that notes whether anyone read from it. */
function recordingBody(json: unknown) {
  const bytes = new TextEncoder().encode(JSON.stringify(json))
  const seen = { pulled: false }
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        seen.pulled = true
        controller.enqueue(bytes)
        controller.close()
      },
    },
    { highWaterMark: 0 }, // pulled only when read (a queue of 1 would pull once at creation)
  )
  return { stream, seen, length: bytes.byteLength }
}

async function post(
  app: App,
  method: string,
  path: string,
  json: unknown,
  options: { authorization?: string; declared: boolean; headers?: Record<string, string> },
) {
  const body = recordingBody(json)
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers }
  if (options.authorization) headers.authorization = options.authorization
  if (options.declared) headers['content-length'] = String(body.length)
  const response = await app.handle(
    new Request(`http://localhost${path}`, { method, headers, body: body.stream, duplex: 'half' } as RequestInit),
  )
  return { status: response.status, pulled: body.seen.pulled, code: ((await response.json().catch(() => ({}))) as { code?: string }).code }
}

let shop: Harness
let delivery: Awaited<ReturnType<typeof setupDelivery>>
beforeAll(async () => {
  ;[shop, delivery] = await Promise.all([createHarness(), setupDelivery()])
}, 60_000)
afterAll(async () => {
  await Promise.all([shop?.close(), delivery?.close()])
})

const services = () =>
  [
    ['ecommerce', shop.app],
    ['delivery', delivery.app],
  ] as const

describe('a request without valid credentials answers 401 before any byte of its body is read', () => {
  test('every authenticated route with a body, both services, declared and streamed, no token or a bad one', async () => {
    let checked = 0
    for (const [service, app] of services()) {
      const { routes } = await openApiRoutes(app)
      const secured = routes.filter((r) => r.operation.security?.length && r.method !== 'GET')
      expect(secured.length).toBeGreaterThan(3)
      for (const route of secured) {
        const path = fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p, crypto.randomUUID()])))
        for (const authorization of [undefined, 'Bearer not-a-valid-token'])
          for (const declared of [true, false]) {
            const r = await post(app, route.method, path, { name: 'x' }, { authorization, declared })
            expect({ service, route: route.key, authorization, declared, status: r.status, pulled: r.pulled }).toEqual({
              service,
              route: route.key,
              authorization,
              declared,
              status: 401,
              pulled: false,
            })
            checked++
          }
      }
    }
    expect(checked).toBeGreaterThan(40)
  })

  test('with valid credentials the body is read (201), declared and streamed', async () => {
    const admin = await shop.adminToken()
    const seller = await shop.seller('Reader', admin)
    for (const declared of [true, false]) {
      const sku = `READ-${declared}`
      const created = await post(
        shop.app,
        'POST',
        '/products',
        { sku, name: 'Reader', description: 'read', quantity: 1 },
        { authorization: `Bearer ${seller.token}`, declared },
      )
      expect(created).toMatchObject({ status: 201, pulled: true })
      const deliveryBody = {
        order: { foreign_order_id: `read-${declared}`, products: [{ sku: 'S', name: 'N', qty: 1 }] },
        origin: { address: 'Dock 1' },
        destination: { name: 'Ada', address: 'Street 1' },
      }
      expect(await post(delivery.app, 'POST', '/deliveries', deliveryBody, { authorization: `Bearer ${KEY_A}`, declared })).toMatchObject({
        status: 201,
        pulled: true,
      })
    }
  })

  test('a wrong role reads the body only after a valid token (403); public routes read theirs (login)', async () => {
    const customer = await shop.customer()
    const r = await post(shop.app, 'POST', '/products', { sku: 'X' }, { authorization: `Bearer ${customer.token}`, declared: false })
    expect(r.status).toBe(403)
    const login = await post(shop.app, 'POST', '/auth/login', { email: customer.email, password: customer.password }, { declared: false })
    expect(login).toMatchObject({ status: 200, pulled: true })
  })

  test('the signed webhook receiver reads no body without its three headers, or with a stale timestamp (401); with them it reads it', async () => {
    const now = Math.floor(Date.now() / 1000)
    const event = { type: 'delivery.status_changed' }
    const unsigned: [string, Record<string, string>][] = [
      ['no webhook headers', {}],
      ['no signature', { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now) }],
      ['a timestamp of an hour ago', { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now - 3600), 'webhook-signature': 'v1,x' }],
      ['a timestamp that is not a number', { 'webhook-id': 'msg_1', 'webhook-timestamp': `${now}abc`, 'webhook-signature': 'v1,x' }],
    ]
    for (const [what, headers] of unsigned)
      for (const declared of [true, false])
        expect({ what, declared, ...(await post(shop.app, 'POST', '/webhooks/delivery', event, { headers, declared })) }).toEqual({
          what,
          declared,
          status: 401,
          pulled: false,
          code: 'invalid-webhook-signature',
        })
    // headers that may carry a valid signature: only the body can tell (here it does not match)
    const fresh = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': 'v1,bm90LWl0' }
    expect(await post(shop.app, 'POST', '/webhooks/delivery', event, { headers: fresh, declared: false })).toEqual({
      status: 401,
      pulled: true,
      code: 'invalid-webhook-signature',
    })
  })
})
