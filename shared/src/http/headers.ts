import { Elysia } from 'elysia'

/**
 * Headers on every answer, errors and docs included: `X-Content-Type-Options: nosniff` (no
 * browser guesses a JSON error into HTML) and `Cache-Control: no-store` (answers carry tokens and
 * personal data; no shared cache keeps them). A route whose answer may be cached sets its own
 * `cache-control` (the Swagger UI assets do).
 */
export function securityHeaders() {
  // Elysia's default headers: in every request's context from its creation, with no hook to run.
  return new Elysia({ name: 'security-headers' }).headers({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' })
}
