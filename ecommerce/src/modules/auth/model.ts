import { EmailString, Integer, named, UuidString } from '@logistics/shared'
import * as v from 'valibot'

const ROLES = ['admin', 'seller', 'customer'] as const
export type Role = (typeof ROLES)[number]
export const RoleSchema = named('Role', v.picklist(ROLES))

export const EmailSchema = v.pipe(
  v.string('email must be a string'),
  v.trim(),
  v.toLowerCase(),
  v.maxLength(254, 'email must be at most 254 characters'),
  v.email('email must be an email address'),
)

export const PasswordSchema = v.pipe(
  v.string('password must be a string'),
  v.minLength(8, 'password must be at least 8 characters'),
  v.maxLength(200, 'password must be at most 200 characters'),
)

export const LoginRequestSchema = named(
  'LoginRequest',
  v.object({
    email: v.pipe(
      v.string('email must be a string'),
      v.trim(),
      v.toLowerCase(),
      v.minLength(1, 'email must not be empty'),
      v.maxLength(254),
    ),
    password: v.pipe(v.string('password must be a string'), v.minLength(1, 'password must not be empty'), v.maxLength(200)),
  }),
)

export const LoginResponseSchema = named(
  'LoginResponse',
  v.object({
    access_token: v.pipe(v.string(), v.description('Send it as `Authorization: Bearer <access_token>`')),
    token_type: v.literal('Bearer'),
    expires_in: v.pipe(Integer, v.description('Seconds the token is valid for')),
    user: named(
      'LoginUser',
      v.object({
        id: UuidString,
        email: EmailString,
        role: RoleSchema,
        seller_id: v.nullable(UuidString),
      }),
    ),
  }),
)

/** The authenticated user of a request, re-read from the database on each request. */
export type CurrentUser = {
  id: string
  email: string
  name: string
  role: Role
  sellerId: string | null
  isSellerAdmin: boolean
}
