import { UuidSchema } from '@logistics/shared'
import { pgErrorCode } from '@logistics/shared/db'
import * as v from 'valibot'

/** `{id}` path parameters: anything but a UUID answers 404 (problemErrors maps params errors). */
export const IdParamsSchema = v.object({ id: UuidSchema })

export const iso = (d: Date) => d.toISOString()

export const isUniqueViolation = (error: unknown) => pgErrorCode(error) === '23505'

export { problems } from '../problems'
