import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

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

/** A secret is usable when it is base64 for at least 16 bytes (128 bits). */
export function isValidWebhookSecret(secret: string): boolean {
  const raw = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) return false
  return Buffer.from(raw, 'base64').length >= 16
}

export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')
  return `v1,${mac}`
}

export type WebhookHeaders = {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

export function webhookHeaders(secret: string, id: string, body: string, now = new Date()): WebhookHeaders {
  const ts = Math.floor(now.getTime() / 1000)
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signWebhook(secret, id, ts, body),
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
