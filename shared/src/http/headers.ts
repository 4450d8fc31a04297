import { Elysia } from 'elysia'

/**
 * Headers on every answer, errors and docs included: `X-Content-Type-Options: nosniff` (no
 * browser guesses a JSON error into HTML) and `Cache-Control: no-store` (answers carry tokens and
 * personal data; no shared cache keeps them). A route whose answer may be cached sets its own
 * `cache-control` (the Swagger UI assets do).
 */
export function securityHeaders() {
  return new Elysia({ name: 'security-headers' }).onRequest(({ set }) => {
    set.headers['x-content-type-options'] = 'nosniff'
    set.headers['cache-control'] = 'no-store'
  })
}
