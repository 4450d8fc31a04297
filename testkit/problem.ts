import { PROBLEM_CONTENT_TYPE } from '@logistics/shared'
import type { Answer } from './http'

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

/** Fails unless the answer is a 4xx problem+json (never 2xx, 3xx or 5xx). */
export function refusalViolation(answer: Answer): string | null {
  if (answer.status < 400 || answer.status >= 500) return `status ${answer.status}: ${answer.text.slice(0, 300)}`
  return problemViolation(answer)
}
