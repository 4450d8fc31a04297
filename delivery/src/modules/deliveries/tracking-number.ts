import { randomBytes } from 'node:crypto'

/** Crockford base32: no I, L, O, U, so a number read aloud or typed is not misread. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/**
 * A readable, unguessable tracking number: `TRK-XXXX-XXXX-XXXX`, 60 random bits (not a serial,
 * so one number says nothing about the next).
 */
export function generateTrackingNumber(): string {
  const bytes = randomBytes(12)
  let out = ''
  for (let i = 0; i < 12; i++) out += ALPHABET[bytes[i]! & 31]
  return `TRK-${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8, 12)}`
}

export const TRACKING_NUMBER_PATTERN = /^TRK-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/
