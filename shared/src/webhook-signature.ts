import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import * as v from 'valibot'

/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing: `v1,<base64 HMAC-SHA256>` over
 * `"<id>.<timestamp>.<body>"`, keyed by the bytes of the secret (`whsec_<base64>`).
 */
export const SECRET_PREFIX = 'whsec_'
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64')
}

/** The HMAC key of a secret: the base64 bytes after an optional `whsec_` prefix. */
export function secretKey(secret: string): Buffer {
  const raw = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  return Buffer.from(raw, 'base64')
}

export const WEBHOOK_SECRET_MIN_BYTES = 24
export const WEBHOOK_SECRET_MAX_BYTES = 64

/**
 * The one rule for a webhook secret given by a client (POST /webhooks `secret`, ecommerce's
 * WEBHOOK_SECRET): `whsec_` followed by the canonical base64 of 24 to 64 random bytes.
 */
export function isValidWebhookSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false
  const raw = secret.slice(SECRET_PREFIX.length)
  if (raw.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) return false
  const bytes = Buffer.from(raw, 'base64')
  // Canonical: decoding and encoding again gives the same text (no stray bits, no junk).
  if (bytes.toString('base64') !== raw) return false
  return bytes.length >= WEBHOOK_SECRET_MIN_BYTES && bytes.length <= WEBHOOK_SECRET_MAX_BYTES
}

export const WEBHOOK_SECRET_RULE = `must be whsec_ followed by the base64 of ${WEBHOOK_SECRET_MIN_BYTES} to ${WEBHOOK_SECRET_MAX_BYTES} random bytes (e.g. "whsec_$(openssl rand -base64 32)")`

/** The valibot schema of a webhook secret; the message names no field (the path does). */
export const WebhookSecretSchema = v.pipe(v.string(`must be a string`), v.check(isValidWebhookSecret, WEBHOOK_SECRET_RULE))

export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')
  return `v1,${mac}`
}

export type WebhookHeaders = {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

/**
 * The Standard Webhooks headers of a message. Several secrets (during a rotation: the new one
 * first, then the old) give several space-separated signatures; a receiver holding either verifies.
 */
export function webhookHeaders(secret: string | readonly string[], id: string, body: string, now = new Date()): WebhookHeaders {
  const ts = Math.floor(now.getTime() / 1000)
  const secrets = typeof secret === 'string' ? [secret] : secret
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': secrets.map((s) => signWebhook(s, id, ts, body)).join(' '),
  }
}

export type VerifyResult = { ok: true } | { ok: false; reason: string }

/**
 * Checks the headers of a received webhook: all three present, timestamp within `toleranceSeconds`
 * of now (both directions, against replays), and one of the space-separated `v1,` signatures
 * matching (constant-time compare).
 */
export function verifyWebhook(
  secret: string,
  headers: { get(name: string): string | null },
  body: string,
  options: { now?: Date; toleranceSeconds?: number } = {},
): VerifyResult {
  const id = headers.get('webhook-id')
  const timestamp = headers.get('webhook-timestamp')
  const signature = headers.get('webhook-signature')
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing webhook headers' }
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'invalid webhook-timestamp' }
  const ts = Number(timestamp)
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000)
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS
  if (Math.abs(now - ts) > tolerance) return { ok: false, reason: 'webhook-timestamp outside the tolerance' }
  const expected = Buffer.from(signWebhook(secret, id, ts, body).slice(3), 'base64')
  for (const candidate of signature.split(' ')) {
    const [version, value] = candidate.split(',', 2)
    if (version !== 'v1' || !value) continue
    const given = Buffer.from(value, 'base64')
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true }
  }
  return { ok: false, reason: 'no matching signature' }
}
