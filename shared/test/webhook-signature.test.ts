import { describe, expect, test } from 'bun:test'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import { generateWebhookSecret, isValidWebhookSecret, verifyWebhook, webhookHeaders } from '../src/webhook-signature'

const body = JSON.stringify({ type: 'delivery.status_changed', data: { status: 'DELIVERED' } })

describe('Standard Webhooks signatures', () => {
  test('what we sign verifies with the reference library, and what it signs verifies with ours', () => {
    const secret = generateWebhookSecret()
    expect(isValidWebhookSecret(secret)).toBe(true)
    const headers = webhookHeaders(secret, 'msg_1', body)
    expect(new StandardWebhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body))

    const now = new Date()
    const theirs = new StandardWebhook(secret).sign('msg_2', now, body)
    const result = verifyWebhook(
      secret,
      new Headers({ 'webhook-id': 'msg_2', 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': theirs }),
      body,
    )
    expect(result).toEqual({ ok: true })
  })

  test('rejects a tampered body, another secret, a stale or future timestamp and missing headers', () => {
    const secret = generateWebhookSecret()
    const h = webhookHeaders(secret, 'msg_3', body)
    expect(verifyWebhook(secret, new Headers(h), body + ' ').ok).toBe(false)
    expect(verifyWebhook(generateWebhookSecret(), new Headers(h), body).ok).toBe(false)
    const stale = webhookHeaders(secret, 'msg_3', body, new Date(Date.now() - 10 * 60_000))
    expect(verifyWebhook(secret, new Headers(stale), body)).toEqual({ ok: false, reason: 'webhook-timestamp outside the tolerance' })
    const future = webhookHeaders(secret, 'msg_3', body, new Date(Date.now() + 10 * 60_000))
    expect(verifyWebhook(secret, new Headers(future), body).ok).toBe(false)
    expect(verifyWebhook(secret, new Headers({ 'webhook-id': 'x' }), body).ok).toBe(false)
  })

  test('accepts any matching signature of several (secret rotation)', () => {
    const secret = generateWebhookSecret()
    const h = webhookHeaders(secret, 'msg_4', body)
    const rotated = { ...h, 'webhook-signature': `v1,${Buffer.from('not it').toString('base64')} ${h['webhook-signature']}` }
    expect(verifyWebhook(secret, new Headers(rotated), body).ok).toBe(true)
  })

  test('refuses weak secrets', () => {
    expect(isValidWebhookSecret('whsec_c2hvcnQ=')).toBe(false)
    expect(isValidWebhookSecret('whsec_not base64!')).toBe(false)
  })
})
