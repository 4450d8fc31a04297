/**
 * The body of a signed delivery webhook: not sent as JSON → 415; not JSON → 400 `malformed-body`; JSON that is no
 * event → 422 with the fields.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { webhookHeaders } from '@logistics/shared'
import { createHarness, type Harness } from './helpers'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
}, 60_000)
afterAll(() => h.close())

const send = (body: string, contentType = 'application/json') =>
  h.request('POST', '/webhooks/delivery', {
    rawBody: body,
    headers: { 'content-type': contentType, ...webhookHeaders(h.config.WEBHOOK_SECRET, `msg_${crypto.randomUUID()}`, body) },
  })

test('a signed body that is no event: 400 when not JSON, 422 naming the fields when JSON', async () => {
  for (const body of ['{"type": "delivery.status_changed",', '']) {
    const r = await send(body)
    expect(r.status).toBe(400)
    expect(r.body.type).toBe('/problems/malformed-body')
    expect(r.headers.get('content-type')).toContain('application/problem+json')
  }
  const wrong = await send(JSON.stringify({ type: 'delivery.status_changed', data: { status: 'LOST' } }))
  expect(wrong.status).toBe(422)
  expect(wrong.headers.get('content-type')).toContain('application/problem+json')
  expect(wrong.body.errors.map((e: { path: string }) => e.path)).toContain('data.status')
})

test('a signed body not sent as application/json answers 415 naming the content type it needs', async () => {
  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16']) {
    const r = await send(JSON.stringify({ type: 'delivery.status_changed' }), contentType)
    expect({ contentType, status: r.status, code: r.body.code }).toEqual({ contentType, status: 415, code: 'unsupported-media-type' })
    expect(r.body.detail).toContain('content-type: application/json')
  }
})
