import type { ListEnvelope, Pagination } from '@logistics/shared'
import { conflict, forbidden, notFound } from '@logistics/shared'
import { paginateTable } from '@logistics/shared/pagination'
import { and, eq, isNull } from 'drizzle-orm'
import type { DbOrTx, EcommerceDb, PasswordHashing } from '../../context'
import { products, sellers, users } from '../../db/schema'
import type { CurrentUser } from '../auth/model'
import { hashPassword } from '../auth/service'
import { iso } from '../common'
import type { UserJson } from '../users/model'
import { emailTaken, insertUser, toUserJson } from '../users/service'
import type { SellerJson } from './model'

export function toSellerJson(s: typeof sellers.$inferSelect): SellerJson {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    warehouse_address: s.warehouseAddress,
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
  }
}

type NewUser = { email: string; password: string; name: string }

/** Creates a seller and its Seller Administrator Users in one transaction: all or nothing. */
export async function createSeller(
  db: EcommerceDb,
  input: { name: string; description: string; warehouse_address?: string; admins: NewUser[] },
  hashing: PasswordHashing,
): Promise<SellerJson & { users: UserJson[] }> {
  const seen = new Set<string>()
  for (const a of input.admins) {
    if (seen.has(a.email)) throw conflict('email-taken', `The email ${a.email} is listed twice`, { email: a.email })
    seen.add(a.email)
  }
  const hashes = await Promise.all(input.admins.map((a) => hashPassword(a.password, hashing)))
  return db.transaction(async (tx) => {
    const [seller] = await tx
      .insert(sellers)
      .values({ name: input.name, description: input.description, warehouseAddress: input.warehouse_address ?? null })
      .returning()
    const created: UserJson[] = []
    for (const [i, a] of input.admins.entries()) {
      const user = await insertUser(tx, {
        email: a.email,
        passwordHash: hashes[i]!,
        name: a.name,
        role: 'seller',
        sellerId: seller!.id,
        isSellerAdmin: true,
      })
      created.push(toUserJson(user))
    }
    return { ...toSellerJson(seller!), users: created }
  })
}

/** The seller when `user` may see it: admins see every live seller, seller users their own; else 404. */
export async function getVisibleSeller(db: DbOrTx, user: CurrentUser, id: string) {
  if (user.role === 'customer') throw forbidden('Only administrators and seller users see sellers')
  if (user.role === 'seller' && user.sellerId !== id) throw notFound('No such seller')
  const [row] = await db
    .select()
    .from(sellers)
    .where(and(eq(sellers.id, id), isNull(sellers.deletedAt)))
  if (!row) throw notFound('No such seller')
  return row
}

export async function listSellers(db: DbOrTx, user: CurrentUser, page: Pagination): Promise<ListEnvelope<SellerJson>> {
  const where = user.role === 'admin' ? isNull(sellers.deletedAt) : and(isNull(sellers.deletedAt), eq(sellers.id, user.sellerId!))
  const { rows, meta } = await paginateTable(db, sellers, {
    page,
    keyset: { columns: [sellers.createdAt, sellers.id], direction: 'desc' },
    where,
  })
  return { data: rows.map(toSellerJson), ...meta }
}

export async function updateSeller(
  db: DbOrTx,
  user: CurrentUser,
  id: string,
  input: { name?: string; description?: string; warehouse_address?: string },
): Promise<SellerJson> {
  await getVisibleSeller(db, user, id)
  const [row] = await db
    .update(sellers)
    .set({
      ...(input.name !== undefined && { name: input.name }),
      ...(input.description !== undefined && { description: input.description }),
      ...(input.warehouse_address !== undefined && { warehouseAddress: input.warehouse_address }),
      updatedAt: new Date(),
    })
    .where(and(eq(sellers.id, id), isNull(sellers.deletedAt)))
    .returning()
  if (!row) throw notFound('No such seller')
  return toSellerJson(row)
}

/** Soft delete: orders keep their history, products leave the catalogue, its users cannot log in. */
export async function deleteSeller(db: EcommerceDb, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const now = new Date()
    const [row] = await tx
      .update(sellers)
      .set({ deletedAt: now, updatedAt: now })
      .where(and(eq(sellers.id, id), isNull(sellers.deletedAt)))
      .returning({ id: sellers.id })
    if (!row) throw notFound('No such seller')
    await tx
      .update(products)
      .set({ deletedAt: now, updatedAt: now })
      .where(and(eq(products.sellerId, id), isNull(products.deletedAt)))
  })
}

/** Admins, and the seller's own Seller Administrator Users, manage its users. */
async function assertManagesUsers(db: DbOrTx, user: CurrentUser, sellerId: string) {
  await getVisibleSeller(db, user, sellerId)
  if (user.role === 'seller' && !user.isSellerAdmin) throw forbidden('Only Seller Administrator Users manage the seller users')
}

export async function addSellerUser(
  db: DbOrTx,
  user: CurrentUser,
  sellerId: string,
  input: NewUser & { is_seller_admin: boolean },
  hashing: PasswordHashing,
): Promise<UserJson> {
  await assertManagesUsers(db, user, sellerId)
  const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.email, input.email))
  if (existing) throw emailTaken(input.email)
  const created = await insertUser(db, {
    email: input.email,
    passwordHash: await hashPassword(input.password, hashing),
    name: input.name,
    role: 'seller',
    sellerId,
    isSellerAdmin: input.is_seller_admin,
  })
  return toUserJson(created)
}

/** One user of the seller (who may see it: as for the list); a user of another seller, or none, is 404. */
export async function getSellerUser(db: DbOrTx, user: CurrentUser, sellerId: string, userId: string): Promise<UserJson> {
  await assertManagesUsers(db, user, sellerId)
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.sellerId, sellerId)))
  if (!row) throw notFound('No such user of this seller')
  return toUserJson(row)
}

export async function listSellerUsers(db: DbOrTx, user: CurrentUser, sellerId: string, page: Pagination): Promise<ListEnvelope<UserJson>> {
  await assertManagesUsers(db, user, sellerId)
  const where = eq(users.sellerId, sellerId)
  const { rows, meta } = await paginateTable(db, users, {
    page,
    keyset: { columns: [users.createdAt, users.id], direction: 'asc' },
    where,
  })
  return { data: rows.map(toUserJson), ...meta }
}
