/**
 * Found by attacking a running delivery service (QA pass after issue #8): inputs the earlier
 * hardening missed. Each case answered 500 or broke "credentials before body" before its fix.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type DeliveryTestContext, deliveryBody, setupDelivery } from './helpers'

let ctx: DeliveryTestContext
beforeAll(async () => {
  ctx = await setupDelivery()
})
afterAll(() => ctx.close())

/** A cursor in the shape the service hands out (keyset values in base64url), with other values. */
const cursorOf = (key: string) => Buffer.from(key, 'utf8').toString('base64url')

describe('credentials before body, also for a NUL character', () => {
  test('no key and a NUL in the body or query answers 401, not 422', async () => {
    const withNul = deliveryBody({ foreign_order_id: 'a\u0000b' })
    const answers = [
      await ctx.call('POST', '/deliveries', { key: null, body: withNul }),
      await ctx.call('POST', '/tracking', { key: null, body: { foreign_order_id: 'a\u0000b' } }),
      await ctx.call('POST', '/webhooks', { key: 'not-a-key', body: { url: 'https://a.test/\u0000' } }),
      await ctx.call('GET', '/deliveries?status=%00', { key: null }),
    ]
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401])
  })

  test('with a valid key the NUL is still refused (422), nothing stored', async () => {
    const before = (await ctx.call('GET', '/deliveries')).json.total
    const r = await ctx.call('POST', '/deliveries', { body: deliveryBody({ foreign_order_id: 'a\u0000b' }) })
    expect(r.status).toBe(422)
    expect(r.headers.get('content-type')).toContain('application/problem+json')
    expect((await ctx.call('GET', '/deliveries')).json.total).toBe(before)
    const query = await ctx.call('GET', '/deliveries?status=%00')
    expect(query.status).toBe(422)
    expect(query.json.errors).toEqual([{ path: 'query.status', message: expect.stringContaining('U+0000') }])
  })
})

describe('unpaired UTF-16 surrogates', () => {
  test('a lone surrogate escape (\\ud800) in a delivery answers 4xx problem+json, not a database error (500)', async () => {
    for (const field of ['foreign_order_id', 'name', 'address'] as const) {
      const body = deliveryBody()
      if (field === 'foreign_order_id') body.order.foreign_order_id = `order-\ud800-${crypto.randomUUID()}`
      if (field === 'name') body.order.products[0]!.name = 'Kettle \udfff'
      if (field === 'address') body.destination.address = '12 \ud83d St James Square'
      const r = await ctx.call('POST', '/deliveries', { body })
      expect({ field, status: r.status }).toEqual({ field, status: 422 })
      expect(r.headers.get('content-type')).toContain('application/problem+json')
    }
  })

  test('a proper surrogate pair (an emoji) is ordinary text and accepted', async () => {
    const body = deliveryBody()
    body.order.products[0]!.name = 'Kettle 😀'
    const r = await ctx.call('POST', '/deliveries', { body })
    expect(r.status).toBe(201)
    expect(r.json.order.products[0].name).toBe('Kettle 😀')
  })
})

describe('tampered cursors', () => {
  test('a cursor with an impossible date (February 30, year 0) answers 422, not 500', async () => {
    for (let i = 0; i < 3; i++) expect((await ctx.call('POST', '/deliveries', { body: deliveryBody() })).status).toBe(201)
    const first = await ctx.call('GET', '/deliveries?limit=1')
    expect(first.status).toBe(200)
    const real = Buffer.from(first.json.next_cursor, 'base64url').toString('utf8')
    const [, ...rest] = real.split(' ')
    for (const date of ['2024-02-30T00:00:00.000000Z', '0000-01-01T00:00:00.000000Z', '2023-02-29T12:00:00.000000Z']) {
      const r = await ctx.call('GET', `/deliveries?cursor=${cursorOf([date, ...rest].join(' '))}`)
      expect({ date, status: r.status }).toEqual({ date, status: 422 })
    }
    // the real cursor still pages
    expect((await ctx.call('GET', `/deliveries?limit=1&cursor=${first.json.next_cursor}`)).status).toBe(200)
  })
})

describe('webhook recovery dates', () => {
  test('POST /webhooks/{id}/recover with since in year 0000 answers 422, not 500', async () => {
    const hook = await ctx.call('POST', '/webhooks', { body: { url: 'http://127.0.0.1:9/qa-recover' } })
    expect(hook.status).toBe(201)
    for (const since of ['0000-01-01T00:00:00Z', '0000-12-31T23:59:59Z']) {
      const r = await ctx.call('POST', `/webhooks/${hook.json.id}/recover`, { body: { since } })
      expect({ since, status: r.status }).toEqual({ since, status: 422 })
    }
    expect((await ctx.call('POST', `/webhooks/${hook.json.id}/recover`, { body: { since: '0001-01-01T00:00:00Z' } })).status).toBe(202)
  })
})
