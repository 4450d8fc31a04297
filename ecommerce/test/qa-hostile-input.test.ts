/**
 * Found by attacking a running ecommerce service (QA pass after issue #8): inputs the earlier
 * hardening missed. Each case answered 500, or stored something else than was sent, before its fix.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHarness, type Harness } from './helpers'

let h: Harness
let admin: string
let seller: Awaited<ReturnType<Harness['seller']>>
beforeAll(async () => {
  h = await createHarness()
  admin = await h.adminToken()
  seller = await h.seller('Qa Goods', admin)
  for (const sku of ['QA-1', 'QA-2', 'QA-3']) await h.product(seller.token, sku, 5)
})
afterAll(() => h.close())

const cursorOf = (key: string) => Buffer.from(key, 'utf8').toString('base64url')

describe('tampered cursors', () => {
  test('a cursor with an impossible date (February 30, year 0) answers 422 on every list, not 500', async () => {
    const first = await h.request('GET', '/products?limit=1')
    expect(first.status).toBe(200)
    const [, id] = Buffer.from(first.body.next_cursor, 'base64url').toString('utf8').split(' ')
    for (const date of ['2024-02-30T00:00:00.000000Z', '0000-01-01T00:00:00.000000Z', '2023-02-29T12:00:00.000000Z']) {
      const cursor = cursorOf(`${date} ${id}`)
      const answers = [
        await h.request('GET', `/products?cursor=${cursor}`),
        await h.request('GET', `/sellers?cursor=${cursor}`, { token: admin }),
        await h.request('GET', `/orders?cursor=${cursor}`, { token: admin }),
        await h.request('GET', `/sellers/${seller.id}/users?cursor=${cursor}`, { token: admin }),
      ]
      expect({ date, statuses: answers.map((a) => a.status) }).toEqual({ date, statuses: [422, 422, 422, 422] })
      for (const a of answers) expect(a.headers.get('content-type')).toContain('application/problem+json')
    }
    expect((await h.request('GET', `/products?limit=1&cursor=${first.body.next_cursor}`)).status).toBe(200)
  })
})

describe('unpaired UTF-16 surrogates', () => {
  test('a lone surrogate escape is refused (422), not stored as U+FFFD under another name', async () => {
    const lone = await h.request('POST', '/products', {
      token: seller.token,
      body: { sku: 'QA-\ud800', name: 'Kettle \udfff', description: 'd', quantity: 1 },
    })
    expect(lone.status).toBe(422)
    expect(lone.headers.get('content-type')).toContain('application/problem+json')
    // what it would have become: the replacement character, a different SKU than the one sent
    const list = await h.request('GET', `/products?seller_id=${seller.id}&limit=100`)
    expect(list.body.data.map((p: { sku: string }) => p.sku)).not.toContain('QA-\ufffd')
    const user = await h.request('POST', '/users', {
      body: { email: 'lone@x.test', password: 'a-long-password-1', name: 'A \ud83d', shipping_address: 'x' },
    })
    expect(user.status).toBe(422)
  })

  test('emoji (a proper surrogate pair) are ordinary text', async () => {
    const r = await h.request('PATCH', `/sellers/${seller.id}`, { token: seller.token, body: { description: 'Kettles 😀' } })
    expect(r.status).toBe(200)
    expect(r.body.description).toBe('Kettles 😀')
  })
})
