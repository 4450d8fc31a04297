import { DateTimeString, EmailString, named, text, UuidString } from '@logistics/shared'
import * as v from 'valibot'
import { EmailSchema, PasswordSchema, RoleSchema } from '../auth/model'
import { strongPassword } from '../auth/password-policy'

export const RegisterRequestSchema = named(
  'RegisterRequest',
  v.pipe(
    v.object({
      email: EmailSchema,
      password: PasswordSchema,
      name: text('name', 200),
      shipping_address: text('shipping_address', 500),
    }),
    strongPassword(),
  ),
)

export const UserSchema = named(
  'User',
  v.object({
    id: UuidString,
    email: EmailString,
    name: v.string(),
    role: RoleSchema,
    seller_id: v.nullable(UuidString),
    is_seller_admin: v.boolean(),
    shipping_address: v.nullable(v.string()),
    created_at: DateTimeString,
  }),
)
export type UserJson = v.InferOutput<typeof UserSchema>
