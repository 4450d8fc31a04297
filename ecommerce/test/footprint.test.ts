/**
 * What an idle ecommerce process holds (issue #11: idle RSS ≤ 80 MB). zxcvbn's dictionaries
 * (~20 MB a process never gives back), pino-pretty (~4 MB) and the PGlite driver are loaded only
 * when they are used: the password check of a user, readable logs at a terminal, PGlite as the
 * database. The start-up check of ADMIN_PASSWORD runs in a child process and must still refuse.
 */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { ConfigError } from '@logistics/shared'
import { createTestDatabase, testOnPostgres } from '@logistics/testkit/databases'
import { DEV_ADMIN_PASSWORD, loadConfig } from '../src/config'
import * as schema from '../src/db/schema'
import { passwordWeakness, passwordWeaknessInChildProcess } from '../src/modules/auth/password-policy'
import { migrationsFolder } from './helpers'

const ecommerceDir = join(import.meta.dir, '..')

/**
 * Runs `code` in a fresh process (as the service starts: its own module graph) and answers which
 * of the watched packages it had loaded by the end, from the runtime's module registry.
 */
async function loadedPackages(code: string, env: Record<string, string> = {}): Promise<string[]> {
  const script = `${code}
const watched = ['@zxcvbn-ts/', 'pino-pretty', '@electric-sql/pglite', 'drizzle-orm/pglite']
console.log(JSON.stringify(watched.filter((w) => Object.keys(require.cache).some((path) => path.includes('/node_modules/' + w)))))`
  const child = Bun.spawn([process.execPath, '-e', script], {
    cwd: ecommerceDir,
    env: { ...process.env, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [out, err, code_] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  if (code_ !== 0) throw new Error(`the probe failed (${code_}): ${err}`)
  return JSON.parse(out.trim().split('\n').at(-1)!) as string[]
}

const START_AS_THE_SERVICE = `
const { loadConfig } = await import('./src/config')
const { passwordWeaknessInChildProcess } = await import('./src/modules/auth/password-policy')
const { createLogger } = await import('@logistics/shared')
await import('./src/app')
const config = loadConfig(process.env, { adminPasswordWeakness: passwordWeaknessInChildProcess })
createLogger('ecommerce', config.LOG_LEVEL, { format: 'json' })
`

describe('start-up footprint', () => {
  test('the app, its config check and a JSON logger load neither the password dictionaries nor pino-pretty', async () => {
    expect(await loadedPackages(START_AS_THE_SERVICE, { ADMIN_PASSWORD: 'a fine admin passphrase 7' })).toEqual([])
  })

  test('the dictionaries and pino-pretty are loaded on first use (the probe sees them)', async () => {
    const loaded = await loadedPackages(`${START_AS_THE_SERVICE}
const { passwordWeakness } = await import('./src/modules/auth/password-policy')
if (passwordWeakness('password123') === undefined) throw new Error('a common password passed')
createLogger('ecommerce', 'info', { format: 'pretty' })`)
    expect(loaded).toEqual(['@zxcvbn-ts/', 'pino-pretty'])
  })

  test('the start-up check in a child process answers exactly as the check in the process', () => {
    // One case per answer of the rule (each is a process: the rule itself is tested in auth-users).
    const cases: [string, { email?: string; name?: string }, RegExp | undefined][] = [
      ['password123456', {}, /too common/],
      ['boss@example.com', { email: 'boss@example.com' }, /must not be the email/],
      ['Ada Lovelace', { name: 'Ada Lovelace', email: 'ada@example.com' }, /too close to the email or name/],
      ['a fine admin passphrase 7', { email: 'admin@example.com' }, undefined],
    ]
    for (const [password, context, answer] of cases) {
      const inChild = passwordWeaknessInChildProcess(password, context)
      expect(inChild).toBe(passwordWeakness(password, context))
      if (answer) expect(inChild).toMatch(answer)
      else expect(inChild).toBeUndefined()
    }
  })

  test('loadConfig with the child-process check still refuses a weak ADMIN_PASSWORD', () => {
    const load = (env: Record<string, string>) => loadConfig(env, { adminPasswordWeakness: passwordWeaknessInChildProcess })
    const refused = (() => {
      try {
        load({ ADMIN_PASSWORD: 'password123456' })
      } catch (error) {
        return error
      }
    })()
    expect(refused).toBeInstanceOf(ConfigError)
    expect((refused as Error).message).toMatch(/ADMIN_PASSWORD: is too common/)
    expect(() => load({ ADMIN_EMAIL: 'boss@example.com', ADMIN_PASSWORD: 'BOSS@example.com' })).toThrow(/must not be the email/)
    expect(load({ ADMIN_PASSWORD: 'a fine admin passphrase 7' }).ADMIN_PASSWORD).toBe('a fine admin passphrase 7')
  })

  test('the development defaults pass the rule, so the start-up skips their check (no child process); any other pair is checked', () => {
    expect(passwordWeakness(DEV_ADMIN_PASSWORD, { email: 'admin@example.com' })).toBeUndefined()
    const checked: string[] = []
    const spy = (password: string) => {
      checked.push(password)
      return undefined
    }
    loadConfig({}, { adminPasswordWeakness: spy })
    loadConfig({ ADMIN_PASSWORD: DEV_ADMIN_PASSWORD, ADMIN_EMAIL: 'Admin@Example.com ' }, { adminPasswordWeakness: spy })
    expect(checked).toEqual([])
    loadConfig({ ADMIN_EMAIL: 'admin-password-change-me@example.com' }, { adminPasswordWeakness: spy })
    loadConfig({ ADMIN_PASSWORD: 'another admin passphrase' }, { adminPasswordWeakness: spy })
    expect(checked).toEqual([DEV_ADMIN_PASSWORD, 'another admin passphrase'])
  })

  testOnPostgres('a database on a PostgreSQL server does not load the PGlite driver', async () => {
    const server = await createTestDatabase({ service: 'ecommerce', schema, migrationsFolder })
    try {
      const loaded = await loadedPackages(`
const { openEcommerceDatabase } = await import('./src/db')
const database = await openEcommerceDatabase(${JSON.stringify(server.url)})
await database.close()`)
      expect(loaded).toEqual([])
    } finally {
      await server.close()
    }
  })

  test('PGlite as the database loads its driver', async () => {
    const loaded = await loadedPackages(`
const { openEcommerceDatabase } = await import('./src/db')
const database = await openEcommerceDatabase('memory://')
await database.close()`)
    expect(loaded).toEqual(['@electric-sql/pglite', 'drizzle-orm/pglite'])
  })
})
