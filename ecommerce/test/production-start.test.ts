/**
 * A database first started in development, then in production: the development administrator
 * password must stop working, and ADMIN_PASSWORD must work (real processes on one PGlite folder).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { freePort, startService } from '../../scripts/services'
import { DEV_ADMIN_PASSWORD } from '../src/config'
import { users } from '../src/db/schema'
import { hashPassword, retireDevelopmentPasswords } from '../src/modules/auth/service'
import { ADMIN, cheapHashing, createHarness, deadDeliveryUrl } from './helpers'

const dataDir = mkdtempSync(join(tmpdir(), 'ecommerce-prod-start-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

/** The bootstrap administrator of both starts (production refuses the development one's email). */
const BOOTSTRAP_EMAIL = 'ops@marketplace.example'

const PRODUCTION_ENV = {
  NODE_ENV: 'Production',
  JWT_SECRET: 'prod-jwt-secret-0123456789-abcdefXYZ',
  DELIVERY_API_KEY: 'prod-delivery-key-0123456789-abc',
  WEBHOOK_SECRET: `whsec_${Buffer.from('a production secret of 32 bytes!').toString('base64')}`,
  ADMIN_PASSWORD: 'the real admin passphrase 42',
}

const login = async (url: string, password: string) =>
  (
    await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: BOOTSTRAP_EMAIL, password }),
    })
  ).status

describe('the development admin password does not survive production', () => {
  test('restarted with NODE_ENV=production, the bootstrap admin gets ADMIN_PASSWORD and the development one is refused', async () => {
    const port = await freePort()
    const base = { DATABASE_URL: '', DELIVERY_API_URL: deadDeliveryUrl(), LOG_LEVEL: 'warn', ADMIN_EMAIL: BOOTSTRAP_EMAIL }
    const lines: string[] = []
    const dev = await startService('ecommerce', {
      port,
      cwd: dataDir,
      env: { ...base, NODE_ENV: 'development' },
      onLine: (l) => lines.push(l),
    })
    expect(await login(dev.url, DEV_ADMIN_PASSWORD)).toBe(200)
    await dev.stop()

    const prod = await startService('ecommerce', { port, cwd: dataDir, env: { ...base, ...PRODUCTION_ENV }, onLine: (l) => lines.push(l) })
    try {
      expect(await login(prod.url, PRODUCTION_ENV.ADMIN_PASSWORD)).toBe(200)
      expect(await login(prod.url, DEV_ADMIN_PASSWORD)).toBe(401)
      expect(lines.join('\n')).toContain('it now has ADMIN_PASSWORD')
      expect(lines.join('\n')).not.toContain(PRODUCTION_ENV.ADMIN_PASSWORD)
    } finally {
      await prod.stop()
    }
  }, 120_000)

  test('another administrator still on the development password loses it; one with its own password keeps it', async () => {
    const h = await createHarness()
    try {
      const [other] = await h.db
        .insert(users)
        .values({
          email: 'old-admin@example.com',
          passwordHash: await hashPassword(DEV_ADMIN_PASSWORD, cheapHashing),
          name: 'Old',
          role: 'admin',
        })
        .returning({ id: users.id })
      await h.db.insert(users).values({
        email: 'own-admin@example.com',
        passwordHash: await hashPassword('an own admin passphrase', cheapHashing),
        name: 'Own',
        role: 'admin',
      })
      const changes = await retireDevelopmentPasswords(h.db, ADMIN.email, PRODUCTION_ENV.ADMIN_PASSWORD, [DEV_ADMIN_PASSWORD], cheapHashing)
      expect(changes.sort((a, b) => a.email.localeCompare(b.email))).toEqual([
        { email: ADMIN.email, action: 'admin-password-set' },
        { email: 'old-admin@example.com', action: 'disabled' },
      ])
      const status = async (email: string, password: string) =>
        (await h.request('POST', '/auth/login', { body: { email, password } })).status
      expect(await status('old-admin@example.com', DEV_ADMIN_PASSWORD)).toBe(401)
      expect(await status(ADMIN.email, DEV_ADMIN_PASSWORD)).toBe(401)
      expect(await status(ADMIN.email, PRODUCTION_ENV.ADMIN_PASSWORD)).toBe(200)
      expect(await status('own-admin@example.com', 'an own admin passphrase')).toBe(200)
      // idempotent: a second start changes nothing
      expect(
        await retireDevelopmentPasswords(h.db, ADMIN.email, PRODUCTION_ENV.ADMIN_PASSWORD, [DEV_ADMIN_PASSWORD], cheapHashing),
      ).toEqual([])
      expect(other).toBeDefined()
      const [row] = await h.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, other!.id))
      expect(row!.hash).not.toContain(DEV_ADMIN_PASSWORD)
    } finally {
      await h.close()
    }
  })
})
