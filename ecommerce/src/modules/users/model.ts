import { text } from '@logistics/shared'
import * as v from 'valibot'
import { EmailSchema, PasswordSchema, RoleSchema } from '../auth/model'
import { strongPassword } from '../auth/password-policy'

export const RegisterRequestSchema = v.pipe(
  v.object({
    email: EmailSchema,
    password: PasswordSchema,
    name: text('name', 200),
    shipping_address: text('shipping_address', 500),
  }),
  strongPassword(),
)

export const UserSchema = v.object({
  id: v.string(),
  email: v.string(),
  name: v.string(),
  role: RoleSchema,
  seller_id: v.nullable(v.string()),
  is_seller_admin: v.boolean(),
  shipping_address: v.nullable(v.string()),
  created_at: v.string(),
})
export type UserJson = v.InferOutput<typeof UserSchema>
