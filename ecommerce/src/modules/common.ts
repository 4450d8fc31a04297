import { ProblemSchema, UuidSchema } from '@logistics/shared'
import { pgErrorCode } from '@logistics/shared/db'
import * as v from 'valibot'

/** `{id}` path parameters: anything but a UUID answers 404 (problemErrors maps params errors). */
export const IdParamsSchema = v.object({ id: UuidSchema })

export const iso = (d: Date) => d.toISOString()

export const isUniqueViolation = (error: unknown) => pgErrorCode(error) === '23505'

/** The problem responses documented on most routes. */
export const problems = (...codes: (400 | 401 | 403 | 404 | 409 | 422 | 429 | 502 | 503 | 504)[]) =>
  Object.fromEntries(codes.map((c) => [c, ProblemSchema])) as Record<number, typeof ProblemSchema>
