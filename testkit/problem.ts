import { PROBLEM_CONTENT_TYPE } from '@logistics/shared'
import type { Answer } from './http'
import { documentedTypes, type OpenApiRoute } from './openapi-routes'

/** The checks every error answer must pass: problem+json (RFC 9457), and a 4xx for a refused request. */

/** What is wrong with an error answer as problem+json (RFC 9457), or null when nothing. */
export function problemViolation(answer: Answer): string | null {
  const type = answer.headers.get('content-type') ?? ''
  if (!type.toLowerCase().startsWith(PROBLEM_CONTENT_TYPE)) return `content-type is "${type}", not ${PROBLEM_CONTENT_TYPE}`
  const body = answer.json
  if (!body || typeof body !== 'object' || Array.isArray(body)) return `body is not a JSON object: ${answer.text.slice(0, 200)}`
  if (typeof body.type !== 'string' || body.type === '') return 'body has no `type`'
  if (typeof body.title !== 'string' || body.title === '') return 'body has no `title`'
  if (body.status !== answer.status) return `body.status ${body.status} differs from the HTTP status ${answer.status}`
  return null
}

/** What is wrong with an error answer meant for a person's browser: a whole HTML document, served as such. */
function htmlPageViolation(answer: Answer): string | null {
  const type = answer.headers.get('content-type') ?? ''
  if (!/^text\/html;\s*charset=utf-8$/i.test(type)) return `content-type is "${type}", not text/html; charset=utf-8`
  if (!/^<!doctype html>/i.test(answer.text) || !answer.text.trimEnd().endsWith('</html>')) return 'body is not a whole HTML document'
  if (answer.headers.get('x-content-type-options') !== 'nosniff') return 'no X-Content-Type-Options: nosniff'
  return null
}

/**
 * What is wrong with an error answer: problem+json, or an HTML page where the route's document says
 * this status is `text/html` (a page for people, like the public tracking page's 404 and 429).
 */
export function errorViolation(answer: Answer, route?: OpenApiRoute): string | null {
  if (route && documentedTypes(route, answer.status).includes('text/html')) return htmlPageViolation(answer)
  return problemViolation(answer)
}

/** Fails unless the answer is a 4xx error (never 2xx, 3xx or 5xx): problem+json, or the route's documented HTML page. */
export function refusalViolation(answer: Answer, route?: OpenApiRoute): string | null {
  if (answer.status < 400 || answer.status >= 500) return `status ${answer.status}: ${answer.text.slice(0, 300)}`
  return errorViolation(answer, route)
}
