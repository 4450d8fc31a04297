import { randomBytes } from 'node:crypto'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import * as v from 'valibot'

/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing and verifying, by the standard's
 * reference library: `v1,<base64 HMAC-SHA256>` over `"<id>.<timestamp>.<body>"`, keyed by the
 * bytes of the secret (`whsec_<base64>`). This module adds secret rotation (several signatures)
 * and readable refusal reasons.
 */
const SECRET_PREFIX = 'whsec_'
/** How far a webhook's timestamp may be from now, either way (the reference library's tolerance). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64')
}

const WEBHOOK_SECRET_MIN_BYTES = 24
const WEBHOOK_SECRET_MAX_BYTES = 64

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

const WEBHOOK_SECRET_RULE = `must be whsec_ followed by the base64 of ${WEBHOOK_SECRET_MIN_BYTES} to ${WEBHOOK_SECRET_MAX_BYTES} random bytes (e.g. "whsec_$(openssl rand -base64 32)")`

/** The valibot schema of a webhook secret; the message names no field (the path does). */
export const WebhookSecretSchema = v.pipe(
  v.string(`must be a string`),
  v.metadata({
    // The document's form of the rule (the length in groups of four base64 characters: 24 to ~64 bytes).
    pattern: '^whsec_(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})?$',
    description: `A secret of your own: ${WEBHOOK_SECRET_RULE}`,
  }),
  v.check(isValidWebhookSecret, WEBHOOK_SECRET_RULE),
)

/** The `v1,…` signature of a message (the secret with or without its `whsec_` prefix). */
function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  return new Webhook(secret).sign(id, new Date(timestampSeconds * 1000), body)
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

/** The reference library's refusals, in this service's words. */
const REASONS: Record<string, string> = {
  'Missing required headers': 'missing webhook headers',
  'Invalid Signature Headers': 'invalid webhook-timestamp',
  'Message timestamp too old': 'webhook-timestamp outside the tolerance',
  'Message timestamp too new': 'webhook-timestamp outside the tolerance',
  'No matching signature found': 'no matching signature',
}

type HeaderSource = { get(name: string): string | null }

/**
 * What is wrong with a received webhook's headers before its body is looked at: one of the three
 * missing, a timestamp not all digits (the library would read `123abc` as 123) or further than
 * DEFAULT_TOLERANCE_SECONDS from now. Undefined when they may carry a valid signature, which only
 * the body can tell (`verifyWebhook`). A receiver checks this before reading a body.
 */
export function webhookHeadersRefusal(headers: HeaderSource, now = Date.now()): string | undefined {
  const id = headers.get('webhook-id')
  const timestamp = headers.get('webhook-timestamp')
  const signature = headers.get('webhook-signature')
  if (!id || !timestamp || !signature) return 'missing webhook headers'
  if (!/^\d+$/.test(timestamp)) return 'invalid webhook-timestamp'
  if (Math.abs(now / 1000 - Number(timestamp)) > DEFAULT_TOLERANCE_SECONDS) return 'webhook-timestamp outside the tolerance'
  return undefined
}

/**
 * Checks the headers of a received webhook with the reference library: all three present,
 * timestamp within DEFAULT_TOLERANCE_SECONDS of now (both directions, against replays), and one of
 * the space-separated `v1,` signatures matching (constant-time compare). The timestamp must be
 * digits only (the library would read `123abc` as 123).
 */
export function verifyWebhook(secret: string, headers: HeaderSource, body: string): VerifyResult {
  const refused = webhookHeadersRefusal(headers)
  if (refused) return { ok: false, reason: refused }
  try {
    new Webhook(secret).verify(
      body,
      {
        'webhook-id': headers.get('webhook-id')!,
        'webhook-timestamp': headers.get('webhook-timestamp')!,
        'webhook-signature': headers.get('webhook-signature')!,
      },
      { jsonParse: false },
    )
    return { ok: true }
  } catch (error) {
    if (error instanceof WebhookVerificationError) return { ok: false, reason: REASONS[error.message] ?? error.message }
    throw error
  }
}
