import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type DeliveryTestContext, deliveryBody, KEY_B, setupDelivery } from './helpers'

let t: DeliveryTestContext
beforeAll(async () => {
  t = await setupDelivery()
})
afterAll(() => t.close())

async function walk(path: string, limit: number, key: string | undefined, by: 'cursor' | 'offset', between?: () => Promise<void>) {
  const ids: string[] = []
  let cursor: string | null = null
  for (let offset = 0; offset < 10_000; offset += limit) {
    const query = by === 'cursor' ? `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}` : `limit=${limit}&offset=${offset}`
    const res = await t.call('GET', `${path}?${query}`, { key })
    expect(res.status).toBe(200)
    ids.push(...res.json.data.map((d: { tracking_number?: string; id?: string }) => d.tracking_number ?? d.id))
    if (by === 'cursor' ? res.json.next_cursor === null : res.json.data.length < limit) return ids
    cursor = res.json.next_cursor
    await between?.()
  }
  throw new Error('walk did not end')
}

describe('cursor pagination of the delivery service', () => {
  test('GET /deliveries by cursor = by offset, each once, also while deliveries are created; another client sees none', async () => {
    for (let i = 0; i < 11; i++) expect((await t.call('POST', '/deliveries', { body: deliveryBody() })).status).toBe(201)
    const byOffset = await walk('/deliveries', 4, undefined, 'offset')
    expect(await walk('/deliveries', 4, undefined, 'cursor')).toEqual(byOffset)
    let created = 0
    const meanwhile = await walk('/deliveries', 3, undefined, 'cursor', async () => {
      await t.call('POST', '/deliveries', { body: deliveryBody() })
      created++
    })
    expect(meanwhile).toEqual(byOffset)
    expect(await walk('/deliveries', 4, KEY_B, 'cursor')).toEqual([])
    const first = await t.call('GET', '/deliveries?limit=1')
    expect(first.json.total).toBe(byOffset.length + created)
    // the other client cannot page into this client's list with its cursor
    const foreign = await t.call('GET', `/deliveries?cursor=${first.json.next_cursor}`, { key: KEY_B })
    expect(foreign.json.data).toEqual([])
  })

  test('a tampered cursor answers 422 problem+json on every list', async () => {
    const hook = await t.call('POST', '/webhooks', { body: { url: 'https://example.com/hook' } })
    for (const path of ['/deliveries', '/webhooks', `/webhooks/${hook.json.id}/attempts`]) {
      for (const cursor of ['garbage!', Buffer.from('1 2 3').toString('base64url'), Buffer.from('-1').toString('base64url')]) {
        const res = await t.call('GET', `${path}?cursor=${encodeURIComponent(cursor)}`)
        expect(res.status).toBe(422)
        expect(res.headers.get('content-type')).toBe('application/problem+json')
      }
    }
  })
})
