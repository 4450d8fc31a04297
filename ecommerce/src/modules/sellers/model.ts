import { DateTimeString, named, text, UuidSchema, UuidString } from '@logistics/shared'
import * as v from 'valibot'
import { EmailSchema, PasswordSchema } from '../auth/model'
import { strongPassword } from '../auth/password-policy'
import { UserSchema } from '../users/model'

const sellerUserEntries = {
  email: EmailSchema,
  password: PasswordSchema,
  name: text('name', 200),
}

const SellerUserInputSchema = v.pipe(v.object(sellerUserEntries), strongPassword())

export const CreateSellerRequestSchema = named(
  'CreateSellerRequest',
  v.object({
    name: text('name', 200),
    description: text('description', 1000),
    warehouse_address: v.optional(text('warehouse_address', 500)),
    admins: v.pipe(
      v.array(SellerUserInputSchema, 'admins must be a list'),
      v.minLength(1, 'admins must list at least one Seller Administrator User'),
      v.maxLength(20, 'admins must list at most 20 users'),
    ),
  }),
)

export const UpdateSellerRequestSchema = named(
  'UpdateSellerRequest',
  v.pipe(
    v.object({
      name: v.optional(text('name', 200)),
      description: v.optional(text('description', 1000)),
      warehouse_address: v.optional(text('warehouse_address', 500)),
    }),
    v.metadata({ minProperties: 1 }),
    v.check(
      (b) => b.name !== undefined || b.description !== undefined || b.warehouse_address !== undefined,
      'give at least one of name, description, warehouse_address',
    ),
  ),
)

export const AddSellerUserRequestSchema = named(
  'AddSellerUserRequest',
  v.pipe(
    v.object({
      ...sellerUserEntries,
      is_seller_admin: v.optional(v.boolean('is_seller_admin must be true or false'), false),
    }),
    strongPassword(),
  ),
)

export const SellerSchema = named(
  'Seller',
  v.object({
    id: UuidString,
    name: v.string(),
    description: v.string(),
    warehouse_address: v.nullable(v.string()),
    created_at: DateTimeString,
    updated_at: DateTimeString,
  }),
)
export type SellerJson = v.InferOutput<typeof SellerSchema>

export const CreatedSellerSchema = named('SellerWithUsers', v.object({ ...SellerSchema.entries, users: v.array(UserSchema) }))

/** `{id}` and `{user_id}` of a seller user: anything but UUIDs answers 404. */
export const SellerUserParamsSchema = v.object({ id: UuidSchema, user_id: UuidSchema })
