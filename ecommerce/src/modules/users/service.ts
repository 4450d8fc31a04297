import { conflict, notFound } from '@logistics/shared'
import { eq } from 'drizzle-orm'
import type { DbOrTx, PasswordHashing } from '../../context'
import { users } from '../../db/schema'
import { hashPassword } from '../auth/service'
import { iso, isUniqueViolation } from '../common'
import type { UserJson } from './model'

export const emailTaken = (email: string) => conflict('email-taken', `The email ${email} is already registered`, { email })

export function toUserJson(u: typeof users.$inferSelect): UserJson {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    seller_id: u.sellerId,
    is_seller_admin: u.isSellerAdmin,
    shipping_address: u.shippingAddress,
    created_at: iso(u.createdAt),
  }
}

/** Inserts a user, turning a taken email into 409 `email-taken`. */
export async function insertUser(db: DbOrTx, values: typeof users.$inferInsert): Promise<typeof users.$inferSelect> {
  try {
    const [row] = await db.insert(users).values(values).returning()
    return row!
  } catch (error) {
    if (isUniqueViolation(error)) throw emailTaken(values.email)
    throw error
  }
}

export async function registerCustomer(
  db: DbOrTx,
  input: { email: string; password: string; name: string; shipping_address: string },
  hashing: PasswordHashing,
): Promise<UserJson> {
  const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.email, input.email))
  if (existing) throw emailTaken(input.email)
  const passwordHash = await hashPassword(input.password, hashing)
  const user = await insertUser(db, {
    email: input.email,
    passwordHash,
    name: input.name,
    role: 'customer',
    shippingAddress: input.shipping_address,
  })
  return toUserJson(user)
}

export async function getUser(db: DbOrTx, id: string): Promise<UserJson> {
  const [row] = await db.select().from(users).where(eq(users.id, id))
  if (!row) throw notFound('No such user')
  return toUserJson(row)
}
