import { afterAll, describe, expect, test } from 'bun:test'
import { HttpProblem, type Logger, silentLogger } from '@logistics/shared'
import { createDeliveryClient } from '../src/modules/delivery-client/service'
import { startWebhookRegistration } from '../src/modules/delivery-webhooks/service'
import { createStubDelivery, deadDeliveryUrl } from './helpers'

const stub = createStubDelivery()
afterAll(() => stub.stop())

const URL_ = 'http://shop.test/webhooks/delivery'
const SECRET = `whsec_${Buffer.from('first secret, long enough......').toString('base64')}`
const OTHER = `whsec_${Buffer.from('second secret, long enough.....').toString('base64')}`

describe('registerWebhook', () => {
  test('201 on first registration, 200 (existing) when the same url+secret is registered again', async () => {
    const client = stub.client()
    const first = await client.registerWebhook(URL_, SECRET)
    expect(first.outcome).toBe('created')
    const again = await client.registerWebhook(URL_, SECRET)
    expect(again).toEqual({ id: first.id, outcome: 'existing' })
    expect(stub.webhooks).toHaveLength(1)
    const post = stub.calls.find((c) => c.method === 'POST' && c.path === '/webhooks')!
    expect(post.body).toEqual({ url: URL_, secret: SECRET })
    expect(post.headers.get('authorization')).toBe('Bearer dev-delivery-key-change-me')
  })

  test('another secret for the url: one POST, the subscription keeps its id (rotated in place, never deleted)', async () => {
    const client = stub.client()
    const before = await client.registerWebhook(URL_, SECRET)
    stub.calls.length = 0
    const r = await client.registerWebhook(URL_, OTHER)
    expect(r).toEqual({ id: before.id, outcome: 'existing' })
    expect(stub.webhooks).toEqual([{ id: before.id, url: URL_, secret: OTHER }])
    expect(stub.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /webhooks'])
  })
})

describe('startWebhookRegistration', () => {
  test('keeps retrying with backoff while the delivery service is down, then registers once it is up', async () => {
    const target = deadDeliveryUrl()
    const failing = createDeliveryClient({ baseUrl: target, apiKey: 'k', timeoutMs: 200, retries: 0 })
    let attempts = 0
    let upstream = failing
    const counting = {
      ...failing,
      registerWebhook: (u: string, s: string) => {
        attempts++
        return upstream.registerWebhook(u, s)
      },
    }
    const reg = startWebhookRegistration({
      client: counting,
      url: 'http://late.test/webhooks/delivery',
      secret: SECRET,
      logger: silentLogger,
      initialDelayMs: 10,
      maxDelayMs: 40,
    })
    await Bun.sleep(150)
    expect(attempts).toBeGreaterThanOrEqual(3)
    upstream = stub.client()
    expect(await reg.done).toBe(true)
    expect(stub.webhooks.some((w) => w.url === 'http://late.test/webhooks/delivery')).toBe(true)
  })

  test('stop() ends the loop without registering', async () => {
    const client = createDeliveryClient({ baseUrl: deadDeliveryUrl(), apiKey: 'k', timeoutMs: 200, retries: 0 })
    const reg = startWebhookRegistration({ client, url: 'http://never.test/x', secret: SECRET, logger: silentLogger, initialDelayMs: 5000 })
    await Bun.sleep(50)
    const started = performance.now()
    reg.stop()
    expect(await reg.done).toBe(false)
    expect(performance.now() - started).toBeLessThan(1000)
  })
})

describe('network errors', () => {
  test('a dropped connection is retried (network errors only), then the answer is used', async () => {
    let connections = 0
    const body = JSON.stringify({ tracking_number: 'TRK-retry', status: 'READY_FOR_PICK_UP' })
    const server = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        open(socket) {
          connections++
          if (connections <= 2) socket.end()
        },
        data(socket) {
          socket.write(
            `HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
          )
          socket.end()
        },
      },
    })
    try {
      const client = createDeliveryClient({
        baseUrl: `http://127.0.0.1:${server.port}`,
        apiKey: 'k',
        timeoutMs: 1000,
        retries: 2,
        retryDelayMs: 5,
      })
      const created = await client.createDelivery({
        order: { foreign_order_id: 'o-1', products: [{ sku: 's', name: 'n', qty: 1 }] },
        origin: { address: 'a' },
        destination: { name: 'n', address: 'b' },
      })
      expect(created.tracking_number).toBe('TRK-retry')
      expect(connections).toBe(3)
    } finally {
      server.stop(true)
    }
  })

  test("a 502 never passes the upstream's detail on: it is logged at warn with the request id", async () => {
    const warnings: { message: string; fields?: Record<string, unknown> }[] = []
    const logger: Logger = {
      ...silentLogger,
      warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, fields }),
    }
    const client = createDeliveryClient({ baseUrl: stub.url, apiKey: 'k', timeoutMs: 300, logger })
    stub.state.mode = 'error'
    try {
      for (const call of [
        () => client.getTracking('TRK-1', { requestId: 'req-502' }),
        () => client.deleteDelivery('TRK-1', { requestId: 'req-502' }),
      ]) {
        const error = await call().catch((e) => e)
        expect(error).toBeInstanceOf(HttpProblem)
        expect(error.status).toBe(502)
        expect(error.message).toContain('500')
        expect(JSON.stringify(error.toBody())).not.toContain('database on fire')
      }
    } finally {
      stub.state.mode = 'up'
    }
    expect(warnings[0]!.fields).toMatchObject({ status: 500, upstream_detail: 'database on fire', request_id: 'req-502' })
    expect(warnings[1]!.fields).toMatchObject({ status: 500, upstream_detail: 'database on fire', request_id: 'req-502' })
  })

  test('an HTTP 500 is not retried and maps to 502', async () => {
    stub.state.mode = 'error'
    stub.calls.length = 0
    try {
      const error = await stub
        .client()
        .getTracking('TRK-1')
        .catch((e) => e)
      expect(error).toBeInstanceOf(HttpProblem)
      expect(error.status).toBe(502)
      expect(stub.calls).toHaveLength(1)
    } finally {
      stub.state.mode = 'up'
    }
  })
})

describe('the delivery service unavailable itself (503, e.g. its database restarting)', () => {
  test('every call, the withdrawal and the lookup too, answers 503 delivery-unavailable with its Retry-After', async () => {
    const server = Bun.serve({
      port: 0,
      fetch: () =>
        new Response(JSON.stringify({ status: 503, code: 'database-unavailable', detail: 'The database does not answer' }), {
          status: 503,
          headers: { 'content-type': 'application/problem+json', 'retry-after': '7' },
        }),
    })
    try {
      const client = createDeliveryClient({ baseUrl: `http://127.0.0.1:${server.port}`, apiKey: 'k', retries: 0 })
      for (const call of [
        () => client.getTracking('TRK-1'),
        () => client.deleteDelivery('TRK-1'),
        () => client.findDeliveryOfOrder('o-1'),
      ]) {
        const error = await call().catch((e) => e)
        expect(error).toBeInstanceOf(HttpProblem)
        expect(error.status).toBe(503)
        expect(error.code).toBe('delivery-unavailable')
        expect(error.headers).toMatchObject({ 'retry-after': '7' })
        expect(JSON.stringify(error.toBody())).not.toContain('The database does not answer')
      }
    } finally {
      server.stop(true)
    }
  })
})

test('the delivery service not reachable at all: 503 delivery-unavailable with Retry-After too (every 503 says when to retry)', async () => {
  const client = createDeliveryClient({ baseUrl: deadDeliveryUrl(), apiKey: 'k', retries: 0 })
  for (const call of [() => client.getTracking('TRK-1'), () => client.deleteDelivery('TRK-1'), () => client.findDeliveryOfOrder('o-1')]) {
    const error = await call().catch((e) => e)
    expect(error).toBeInstanceOf(HttpProblem)
    expect([error.status, error.code, error.headers['retry-after']]).toEqual([503, 'delivery-unavailable', '5'])
  }
})
