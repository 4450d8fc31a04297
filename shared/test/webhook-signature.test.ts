import { describe, expect, test } from 'bun:test'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import * as v from 'valibot'
import { generateWebhookSecret, isValidWebhookSecret, verifyWebhook, WebhookSecretSchema, webhookHeaders } from '../src/webhook-signature'

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
    expect(verifyWebhook(secret, new Headers(h), `${body} `).ok).toBe(false)
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

  test('signing with several secrets (rotation) verifies with each of them, by us and the reference library', () => {
    const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()]
    const h = webhookHeaders([newSecret, oldSecret], 'msg_5', body)
    expect(h['webhook-signature'].split(' ')).toHaveLength(2)
    for (const s of [oldSecret, newSecret]) {
      expect(verifyWebhook(s, new Headers(h), body).ok).toBe(true)
      expect(new StandardWebhook(s).verify(body, { ...h })).toEqual(JSON.parse(body))
    }
    expect(verifyWebhook(generateWebhookSecret(), new Headers(h), body).ok).toBe(false)
  })

  test('a secret is whsec_ + canonical base64 of 24 to 64 bytes (one schema for both services)', () => {
    const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64')
    expect(isValidWebhookSecret('whsec_c2hvcnQ=')).toBe(false)
    expect(isValidWebhookSecret('whsec_not base64!')).toBe(false)
    expect(isValidWebhookSecret('mysecret')).toBe(false)
    expect(isValidWebhookSecret(b64(32))).toBe(false) // no prefix
    expect(isValidWebhookSecret(`whsec_${b64(23)}`)).toBe(false)
    expect(isValidWebhookSecret(`whsec_${b64(24)}`)).toBe(true)
    expect(isValidWebhookSecret(`whsec_${b64(64)}`)).toBe(true)
    expect(isValidWebhookSecret(`whsec_${b64(65)}`)).toBe(false)
    expect(isValidWebhookSecret(`whsec_${b64(32).slice(0, -1)}`)).toBe(false) // truncated
    expect(isValidWebhookSecret(`whsec_${b64(25).replace(/==$/, 'x=')}`)).toBe(false) // junk bits
    expect(v.safeParse(WebhookSecretSchema, generateWebhookSecret()).success).toBe(true)
    const bad = v.safeParse(WebhookSecretSchema, 'mysecret')
    expect(bad.success).toBe(false)
    expect(bad.issues?.[0]?.message).toContain('whsec_')
  })
})
