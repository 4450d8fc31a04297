import { HttpProblem, isProduction, unauthorized } from '@logistics/shared'
import { and, eq, gt, isNotNull, isNull, lt, or, sql } from 'drizzle-orm'
import type { Config } from '../../config'
import { DEV_ADMIN_PASSWORD } from '../../config'
import type { AppDeps, DbOrTx } from '../../context'
import { loginThrottles } from '../../db/schema'
import type { CurrentUser } from './model'
import { checkLoginPassword, findLoginUser } from './service'

/**
 * Login throttling, per account (the email, known or not, so it tells nothing about which exist)
 * and per client address, in the database so every replica shares it:
 *
 * - each attempt first reserves one of the key's LOGIN_MAX_FAILURES (per address:
 *   LOGIN_MAX_FAILURES_PER_ADDRESS) attempts of the current LOGIN_WINDOW_SECONDS window, with one
 *   atomic upsert per key; past the limit, or while the key is locked, it answers 429 with
 *   `Retry-After` without looking at the password, so a correct password gets 429 too (no oracle)
 *   and concurrent guesses cannot exceed the limit;
 * - a wrong password keeps its reservation; the one that took the last allowed attempt locks the key for
 *   LOGIN_LOCK_SECONDS, twice as long at each next lock (up to an hour or LOGIN_LOCK_SECONDS);
 * - a correct password clears the account (its failures and lock history) and gives the address
 *   its reservation back.
 *
 * The success path costs the two reservations, sent together with the user lookup (no added round
 * trip), and one write after the password check. Rows idle for a day are deleted.
 *
 * Anyone can lock an account by failing its logins (the price of per-account locking): the lock is
 * short at first and the real user gets a clear 429 with the time to wait.
 */
type ThrottleSettings = {
  maxFailures: number
  maxFailuresPerAddress: number
  windowSeconds: number
  lockSeconds: number
  maxLockSeconds: number
}

const throttleSettings = (config: Config): ThrottleSettings => ({
  maxFailures: config.LOGIN_MAX_FAILURES,
  maxFailuresPerAddress: config.LOGIN_MAX_FAILURES_PER_ADDRESS,
  windowSeconds: config.LOGIN_WINDOW_SECONDS,
  lockSeconds: config.LOGIN_LOCK_SECONDS,
  maxLockSeconds: Math.max(3600, config.LOGIN_LOCK_SECONDS),
})

type Key = { key: string; max: number }
type Reservation = Key & { attempts: number; lockedUntil: Date | null; windowStartedAt: Date }

const t = loginThrottles
const lockedAt = (now: Date) => and(isNotNull(t.lockedUntil), gt(t.lockedUntil, now))

/** Takes one attempt of `key` (atomic: the row is locked by the upsert), answering the row after it. */
async function reserve(db: DbOrTx, { key, max }: Key, now: Date, s: ThrottleSettings): Promise<Reservation> {
  const windowStart = new Date(now.getTime() - s.windowSeconds * 1000)
  const fresh = gt(t.windowStartedAt, windowStart)
  const [row] = await db
    .insert(t)
    .values({ key, attempts: 1, windowStartedAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: t.key,
      set: {
        attempts: sql`case when ${lockedAt(now)} then ${t.attempts} when ${fresh} then ${t.attempts} + 1 else 1 end`,
        windowStartedAt: sql`case when ${lockedAt(now)} or ${fresh} then ${t.windowStartedAt} else ${sql.param(now, t.windowStartedAt)} end`,
        updatedAt: now,
      },
    })
    .returning({ attempts: t.attempts, lockedUntil: t.lockedUntil, windowStartedAt: t.windowStartedAt })
  return { key, max, ...row! }
}

const granted = (r: Reservation, now: Date) => !(r.lockedUntil && r.lockedUntil > now) && r.attempts <= r.max

/** Gives an attempt back (a success from the address, or a refusal by the other key). */
const release = (db: DbOrTx, key: string) =>
  db
    .update(t)
    .set({ attempts: sql`greatest(${t.attempts} - 1, 0)` })
    .where(eq(t.key, key))

/** A failed attempt: the one that finds the key at its limit locks it, each lock twice as long as the last. */
async function recordFailure(db: DbOrTx, { key, max }: Key, now: Date, s: ThrottleSettings) {
  const seconds = sql`least(${s.lockSeconds}::float8 * power(2, least(${t.lockouts}, 20)), ${s.maxLockSeconds}::float8)`
  await db
    .update(t)
    .set({
      lockedUntil: sql`${sql.param(now, t.lockedUntil)}::timestamptz + make_interval(secs => ${seconds})`,
      lockouts: sql`${t.lockouts} + 1`,
      attempts: 0,
      windowStartedAt: now,
    })
    .where(
      and(
        eq(t.key, key),
        sql`${t.attempts} >= ${max}`,
        or(isNull(t.lockedUntil), sql`${t.lockedUntil} <= ${sql.param(now, t.lockedUntil)}`),
      ),
    )
}

let lastCleanup = 0
/** Deletes the rows idle for a day (at most once a minute per process, on a failure). */
async function cleanup(db: DbOrTx, now: Date) {
  if (Math.abs(now.getTime() - lastCleanup) < 60_000) return
  lastCleanup = now.getTime()
  const dayAgo = new Date(now.getTime() - 86_400_000)
  await db.delete(t).where(and(lt(t.updatedAt, dayAgo), or(isNull(t.lockedUntil), lt(t.lockedUntil, now))))
}

function tooManyAttempts(retryAfterSeconds: number) {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds))
  return new HttpProblem(
    429,
    'too-many-login-attempts',
    `Too many failed logins for this account or from this address; try again in ${seconds} s`,
    {},
    { 'retry-after': String(seconds) },
  )
}

/**
 * Checks an email and password under the throttle: answers the user, or throws 401 (wrong email or
 * password) or 429 (throttled, with Retry-After). `address` is the client address (`clientAddress`),
 * undefined when unknown (no per-address limit then). `now` is injectable for tests.
 */
export async function login(
  deps: Pick<AppDeps, 'db' | 'config' | 'passwordHashing'>,
  credentials: { email: string; password: string },
  address: string | undefined,
  now: Date = new Date(),
): Promise<CurrentUser> {
  const { db } = deps
  const s = throttleSettings(deps.config)
  const email = credentials.email.trim().toLowerCase()
  const keys: Key[] = [{ key: `account:${email}`, max: s.maxFailures }]
  if (address) keys.push({ key: `address:${address}`, max: s.maxFailuresPerAddress })

  const [found, ...reservations] = await Promise.all([findLoginUser(db, email), ...keys.map((k) => reserve(db, k, now, s))])
  const refused = reservations.filter((r) => !granted(r, now))
  if (refused.length > 0) {
    await Promise.all(reservations.filter((r) => granted(r, now)).map((r) => release(db, r.key)))
    const wait = Math.max(
      ...refused.map((r) => (r.lockedUntil && r.lockedUntil > now ? (r.lockedUntil.getTime() - now.getTime()) / 1000 : s.lockSeconds)),
    )
    throw tooManyAttempts(wait)
  }

  let user = await checkLoginPassword(found, credentials.password, deps.passwordHashing)
  // No account keeps a development password in production (see retireDevelopmentPasswords).
  if (user && credentials.password === DEV_ADMIN_PASSWORD && isProduction(deps.config)) user = null
  if (user) {
    await Promise.all([db.delete(t).where(eq(t.key, keys[0]!.key)), ...keys.slice(1).map((k) => release(db, k.key))])
    return user
  }
  // Only the attempt that took a key's last allowed one locks it (the others leave the row as it is).
  await Promise.all(reservations.filter((r) => r.attempts >= r.max).map((r) => recordFailure(db, r, now, s)))
  await cleanup(db, now)
  throw unauthorized('Wrong email or password')
}

/**
 * Registrations per client address: each `POST /users` costs an argon2id hash, so a flood of sign-ups
 * from one address could starve logins. Every attempt (accepted or not) takes one of the address's
 * REGISTRATIONS_PER_ADDRESS of the current LOGIN_WINDOW_SECONDS window, atomically (same table and
 * upsert as the logins); past it: 429 `too-many-registrations` with `Retry-After` (the window's rest),
 * before the password is hashed. Unknown address (no socket): not counted.
 */
export async function reserveRegistration(
  deps: Pick<AppDeps, 'db' | 'config'>,
  address: string | undefined,
  now: Date = new Date(),
): Promise<void> {
  if (!address) return
  const s = throttleSettings(deps.config)
  const r = await reserve(deps.db, { key: `register:${address}`, max: deps.config.REGISTRATIONS_PER_ADDRESS }, now, s)
  if (r.attempts <= r.max) return
  const rest = (r.windowStartedAt.getTime() + s.windowSeconds * 1000 - now.getTime()) / 1000
  const seconds = Math.max(1, Math.ceil(rest))
  throw new HttpProblem(
    429,
    'too-many-registrations',
    `Too many registrations from this address; try again in ${seconds} s`,
    {},
    { 'retry-after': String(seconds) },
  )
}
