import { isUuid } from '@logistics/shared'
import { oncePerDb } from '@logistics/shared/db'
import { and, eq, isNull, or, sql } from 'drizzle-orm'
import type { DbOrTx, PasswordHashing } from '../../context'
import { sellers, users } from '../../db/schema'
import type { CurrentUser } from './model'

export function hashPassword(password: string, options: PasswordHashing = {}): Promise<string> {
  return Bun.password.hash(password, { algorithm: 'argon2id', ...options })
}

function verifyPassword(password: string, hash: string): Promise<boolean> {
  return Bun.password.verify(password, hash)
}

/** Verified against when the email is unknown, so both failures take the same time. */
let dummyHash: Promise<string> | undefined

const activeUserColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: users.role,
  sellerId: users.sellerId,
  isSellerAdmin: users.isSellerAdmin,
  passwordHash: users.passwordHash,
}

/** A user who may act: not a user of a deleted seller. */
async function findActiveUser(db: DbOrTx, where: ReturnType<typeof eq>) {
  const [row] = await db
    .select(activeUserColumns)
    .from(users)
    .leftJoin(sellers, eq(sellers.id, users.sellerId))
    .where(and(where, or(isNull(users.sellerId), isNull(sellers.deletedAt))))
    .limit(1)
  return row
}

const toCurrentUser = ({ passwordHash: _, ...u }: NonNullable<Awaited<ReturnType<typeof findActiveUser>>>): CurrentUser => u

/** The active user of an email, with the password hash (the login's first step; see `login-throttle.ts`). */
export const findLoginUser = (db: DbOrTx, email: string) => findActiveUser(db, eq(users.email, email.trim().toLowerCase()))

/** The login's password check, or null (unknown email, wrong password and deleted seller alike): an unknown user takes as long as a wrong password. */
export async function checkLoginPassword(
  user: Awaited<ReturnType<typeof findLoginUser>>,
  password: string,
  hashing: PasswordHashing = {},
): Promise<CurrentUser | null> {
  if (!user) {
    dummyHash ??= hashPassword('not-a-real-password', hashing)
    await verifyPassword(password, await dummyHash)
    return null
  }
  return (await verifyPassword(password, user.passwordHash)) ? toCurrentUser(user) : null
}

const activeUserById = oncePerDb((db: DbOrTx) =>
  db
    .select(activeUserColumns)
    .from(users)
    .leftJoin(sellers, eq(sellers.id, users.sellerId))
    .where(and(eq(users.id, sql.placeholder('id')), or(isNull(users.sellerId), isNull(sellers.deletedAt))))
    .limit(1)
    .prepare('active_user_by_id'),
)

/** The user behind a token, if it may still log in (every authenticated request: prepared). */
export async function loadActiveUser(db: DbOrTx, id: string): Promise<CurrentUser | null> {
  if (!isUuid(id)) return null
  const [user] = await activeUserById(db).execute({ id })
  return user ? toCurrentUser(user) : null
}

/** Creates the marketplace administrator when no user has that email yet (idempotent). */
export async function ensureAdmin(db: DbOrTx, email: string, password: string, hashing: PasswordHashing = {}) {
  const normalized = email.trim().toLowerCase()
  const [existing] = await db.select({ id: users.id, role: users.role }).from(users).where(eq(users.email, normalized))
  if (existing) return { created: false, id: existing.id, role: existing.role }
  const passwordHash = await hashPassword(password, hashing)
  const [row] = await db
    .insert(users)
    .values({ email: normalized, passwordHash, name: 'Marketplace administrator', role: 'admin' })
    .onConflictDoNothing()
    .returning({ id: users.id })
  if (row) return { created: true, id: row.id, role: 'admin' as const }
  const [again] = await db.select({ id: users.id, role: users.role }).from(users).where(eq(users.email, normalized))
  return { created: false, id: again!.id, role: again!.role }
}

/**
 * Production start-up: no administrator may keep a development password (`devPasswords`, i.e.
 * `admin-password-change-me`, from a database first started in development). The bootstrap
 * administrator (`email`) gets `password` (ADMIN_PASSWORD); any other administrator still on a
 * development password gets an unusable one (it can no longer log in until an operator resets it).
 * Only the few administrators are checked (one argon2 verification each). The update is
 * conditional on the old hash, so replicas starting at once, or a password changed meanwhile, are safe.
 */
export async function retireDevelopmentPasswords(
  db: DbOrTx,
  email: string,
  password: string,
  devPasswords: readonly string[],
  hashing: PasswordHashing = {},
): Promise<{ email: string; action: 'admin-password-set' | 'disabled' }[]> {
  const normalized = email.trim().toLowerCase()
  const admins = await db
    .select({ id: users.id, email: users.email, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.role, 'admin'))
  const changed: { email: string; action: 'admin-password-set' | 'disabled' }[] = []
  for (const admin of admins) {
    let onDevPassword = false
    for (const dev of devPasswords) if (await verifyPassword(dev, admin.passwordHash)) onDevPassword = true
    if (!onDevPassword) continue
    const isBootstrap = admin.email === normalized
    const next = isBootstrap ? password : crypto.randomUUID() + crypto.randomUUID()
    const [row] = await db
      .update(users)
      .set({ passwordHash: await hashPassword(next, hashing) })
      .where(and(eq(users.id, admin.id), eq(users.passwordHash, admin.passwordHash)))
      .returning({ id: users.id })
    if (row) changed.push({ email: admin.email, action: isBootstrap ? 'admin-password-set' : 'disabled' })
  }
  return changed
}
