import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { clientAddress, normalizeAddress } from '@logistics/shared/http/client-address'
import { serveApp } from '@logistics/shared/http/serve'
import { DEV_ADMIN_PASSWORD } from '../src/config'
import { loginThrottles } from '../src/db/schema'
import { login } from '../src/modules/auth/login-throttle'
import { ADMIN, cheapHashing, createHarness, type Harness } from './helpers'

const LIMITS = {
  LOGIN_MAX_FAILURES: '3',
  LOGIN_MAX_FAILURES_PER_ADDRESS: '6',
  LOGIN_WINDOW_SECONDS: '900',
  LOGIN_LOCK_SECONDS: '60',
  REGISTRATIONS_PER_ADDRESS: '3',
}

let h: Harness
beforeAll(async () => {
  h = await createHarness({ config: { ...LIMITS, TRUST_PROXY_HOPS: '1' } })
})
afterAll(() => h.close())

let n = 0
/** A registered customer with a fresh email. */
async function account() {
  const email = `user${++n}-${crypto.randomUUID().slice(0, 6)}@throttle.test`
  const password = 'a good passphrase'
  const r = await h.request('POST', '/users', { body: { email, password, name: 'T', shipping_address: '1 Road' } })
  expect(r.status).toBe(201)
  return { email, password }
}
const from = (address: string) => ({ 'x-forwarded-for': `203.0.113.99, ${address}` })
const attempt = (email: string, password: string, address: string) =>
  h.request('POST', '/auth/login', { body: { email, password }, headers: from(address) })

describe('login throttling', () => {
  test('after N wrong passwords the account answers 429 with Retry-After, even to the right password', async () => {
    const a = await account()
    for (let i = 0; i < 3; i++) expect((await attempt(a.email, 'wrong password', '198.51.100.1')).status).toBe(401)
    const locked = await attempt(a.email, 'wrong password', '198.51.100.1')
    expect(locked.status).toBe(429)
    expect(locked.headers.get('content-type')).toBe('application/problem+json')
    expect(locked.body).toMatchObject({ status: 429, code: 'too-many-login-attempts' })
    const retryAfter = Number(locked.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    // the right password during the lock: the same 429 (a guess cannot be confirmed), from any address
    const right = await attempt(a.email, a.password, '198.51.100.2')
    expect(right.status).toBe(429)
    expect(right.headers.get('retry-after')).not.toBeNull()
    // an unknown email is throttled the same way (nothing tells which accounts exist)
    for (let i = 0; i < 3; i++) expect((await attempt('nobody@throttle.test', 'x', '198.51.100.3')).status).toBe(401)
    expect((await attempt('nobody@throttle.test', 'x', '198.51.100.3')).status).toBe(429)
  })

  test('another account from the same address is unaffected below the address limit', async () => {
    const [a, b] = [await account(), await account()]
    for (let i = 0; i < 3; i++) await attempt(a.email, 'wrong password', '198.51.100.10')
    expect((await attempt(a.email, a.password, '198.51.100.10')).status).toBe(429)
    expect((await attempt(b.email, b.password, '198.51.100.10')).status).toBe(200)
  })

  test('the address limit: failures spread over accounts lock the address, not the accounts elsewhere', async () => {
    const accounts = [await account(), await account(), await account(), await account()]
    for (const a of accounts.slice(0, 3))
      for (let i = 0; i < 2; i++) expect((await attempt(a.email, 'wrong password', '198.51.100.20')).status).toBe(401)
    const refused = await attempt(accounts[3]!.email, accounts[3]!.password, '198.51.100.20')
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    // the same accounts from another address: below their own limit, they log in
    expect((await attempt(accounts[0]!.email, accounts[0]!.password, '198.51.100.21')).status).toBe(200)
    expect((await attempt(accounts[3]!.email, accounts[3]!.password, '198.51.100.21')).status).toBe(200)
  })

  test('a success clears the account failures; successes never count against the limits', async () => {
    const a = await account()
    for (let i = 0; i < 2; i++) expect((await attempt(a.email, 'wrong password', '198.51.100.30')).status).toBe(401)
    expect((await attempt(a.email, a.password, '198.51.100.30')).status).toBe(200)
    for (let i = 0; i < 2; i++) expect((await attempt(a.email, 'wrong password', '198.51.100.30')).status).toBe(401)
    expect((await attempt(a.email, a.password, '198.51.100.30')).status).toBe(200)
    for (let i = 0; i < 10; i++) expect((await attempt(a.email, a.password, '198.51.100.31')).status).toBe(200)
  })

  test('the window expires, a lock ends, and the next lock is twice as long (injected clock)', async () => {
    const a = await account()
    const at = (seconds: number) => new Date(Date.UTC(2030, 0, 1) + seconds * 1000)
    const tryAt = (password: string, seconds: number) =>
      login({ db: h.db, config: h.config, passwordHashing: cheapHashing }, { email: a.email, password }, '192.0.2.1', at(seconds)).then(
        () => 200,
        (e: { status: number; headers: Record<string, string> }) => [e.status, e.headers['retry-after']],
      )
    expect(await tryAt('wrong', 0)).toEqual([401, undefined])
    expect(await tryAt('wrong', 10)).toEqual([401, undefined])
    // 15 minutes later the window has passed: two more failures do not lock
    expect(await tryAt('wrong', 1000)).toEqual([401, undefined])
    expect(await tryAt('wrong', 1001)).toEqual([401, undefined])
    expect(await tryAt('wrong', 1002)).toEqual([401, undefined]) // the third in this window locks for 60 s
    expect(await tryAt(a.password, 1003)).toEqual([429, '59'])
    expect(await tryAt(a.password, 1061)).toEqual([429, '1'])
    expect(await tryAt('wrong', 1062)).toEqual([401, undefined])
    expect(await tryAt('wrong', 1063)).toEqual([401, undefined])
    expect(await tryAt('wrong', 1064)).toEqual([401, undefined]) // second lock: 120 s
    expect(await tryAt(a.password, 1065)).toEqual([429, '119'])
    expect(await tryAt(a.password, 1184)).toBe(200)
  })

  test('rows idle for a day are deleted', async () => {
    const deps = { db: h.db, config: h.config, passwordHashing: cheapHashing }
    const t0 = Date.UTC(2031, 0, 1)
    await login(deps, { email: 'idle@throttle.test', password: 'x' }, '192.0.2.60', new Date(t0)).catch(() => {})
    const keys = async () => (await h.db.select({ key: loginThrottles.key }).from(loginThrottles)).map((r) => r.key)
    expect(await keys()).toContain('account:idle@throttle.test')
    await login(deps, { email: 'later@throttle.test', password: 'x' }, '192.0.2.61', new Date(t0 + 2 * 86_400_000)).catch(() => {})
    expect(await keys()).not.toContain('account:idle@throttle.test')
    expect(await keys()).not.toContain('address:192.0.2.60')
    expect(await keys()).toContain('account:later@throttle.test')
  })

  test('concurrent wrong logins cannot exceed the limit (atomic reservation)', async () => {
    const a = await account()
    // from 20 addresses at once (a botnet): the account limit alone decides
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(a.email, 'wrong password', `198.51.101.${i}`)))
    const statuses = answers.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 401)).toHaveLength(3)
    expect(statuses.filter((s) => s === 429)).toHaveLength(17)
    expect((await attempt(a.email, a.password, '198.51.100.41')).status).toBe(429)
  })

  test('in production, the development admin password is refused like a wrong one', async () => {
    const deps = { db: h.db, config: { ...h.config, NODE_ENV: 'Production' }, passwordHashing: cheapHashing }
    await expect(login(deps, { email: ADMIN.email, password: DEV_ADMIN_PASSWORD }, '192.0.2.50')).rejects.toMatchObject({ status: 401 })
    await expect(
      login({ ...deps, config: h.config }, { email: ADMIN.email, password: DEV_ADMIN_PASSWORD }, '192.0.2.50'),
    ).resolves.toMatchObject({ role: 'admin' })
  })
})

describe('the client address', () => {
  const server = (address: string) => ({ requestIP: () => ({ address }) })
  const request = (xff?: string) => new Request('http://x/auth/login', { headers: xff ? { 'x-forwarded-for': xff } : {} })

  test('is the socket address unless TRUST_PROXY_HOPS says proxies are in front', () => {
    expect(clientAddress({ TRUST_PROXY_HOPS: 0 }, request('1.2.3.4'), server('10.0.0.7'))).toBe('10.0.0.7')
    expect(clientAddress({ TRUST_PROXY_HOPS: 1 }, request('6.6.6.6, 1.2.3.4'), server('10.0.0.7'))).toBe('1.2.3.4')
    expect(clientAddress({ TRUST_PROXY_HOPS: 2 }, request('6.6.6.6, 1.2.3.4, 10.0.0.9'), server('10.0.0.7'))).toBe('1.2.3.4')
    expect(clientAddress({ TRUST_PROXY_HOPS: 1 }, request(), server('10.0.0.7'))).toBe('10.0.0.7')
    expect(clientAddress({ TRUST_PROXY_HOPS: 0 }, request(), null)).toBeUndefined()
  })

  test('IPv4-mapped addresses are unwrapped; IPv6 counts per /64', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(normalizeAddress('2001:db8:aa:bb:1:2:3:4')).toBe('2001:db8:aa:bb::/64')
    expect(normalizeAddress('2001:0db8:00aa:00bb::9')).toBe('2001:db8:aa:bb::/64')
    expect(normalizeAddress('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(normalizeAddress('::1')).toBe('0:0:0:0::/64')
  })

  test('over a real socket, a forged X-Forwarded-For is ignored by default', async () => {
    const direct = await createHarness({ config: LIMITS })
    const listening = serveApp(direct.app, 0)
    direct.app.server = listening // as ecommerce/src/index.ts does
    try {
      const post = (email: string, password: string, forged: string) =>
        fetch(`http://127.0.0.1:${listening.port}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': forged },
          body: JSON.stringify({ email, password }),
        })
      for (let i = 0; i < 6; i++) expect((await post(`victim${i % 3}@throttle.test`, 'wrong', `10.9.9.${i}`)).status).toBe(401)
      const refused = await post(ADMIN.email, ADMIN.password, '10.9.9.200')
      expect(refused.status).toBe(429)
      expect(refused.headers.get('retry-after')).not.toBeNull()
    } finally {
      listening.stop(true)
      await direct.close()
    }
  })
})

describe('registration throttling', () => {
  const register = (address: string, email = `reg-${crypto.randomUUID().slice(0, 8)}@throttle.test`) =>
    h.request('POST', '/users', {
      body: { email, password: 'a good passphrase', name: 'R', shipping_address: '1 Road' },
      headers: from(address),
    })

  test('past REGISTRATIONS_PER_ADDRESS from one address: 429 with Retry-After, before hashing, nothing stored; other addresses go on', async () => {
    for (let i = 0; i < 3; i++) expect((await register('198.51.100.77')).status).toBe(201)
    const email = `blocked-${crypto.randomUUID().slice(0, 8)}@throttle.test`
    const refused = await register('198.51.100.77', email)
    expect(refused.status).toBe(429)
    expect(refused.body.code).toBe('too-many-registrations')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(900)
    // nothing was stored: the same email registers from another address
    expect((await register('198.51.100.78', email)).status).toBe(201)
  })

  test('refused registrations count too (a taken email still costs a hash); invalid bodies are refused before, for free', async () => {
    const email = `taken-${crypto.randomUUID().slice(0, 8)}@throttle.test`
    expect((await register('198.51.100.90', email)).status).toBe(201)
    for (let i = 0; i < 2; i++) expect((await register('198.51.100.90', email)).status).toBe(409)
    expect((await register('198.51.100.90')).status).toBe(429)
    const invalid = await h.request('POST', '/users', {
      body: { email: 'not-an-email', password: 'x', name: 'R', shipping_address: '1' },
      headers: from('198.51.100.91'),
    })
    expect(invalid.status).toBe(422)
    expect((await register('198.51.100.91')).status).toBe(201)
  })
})
