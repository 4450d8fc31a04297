import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { ConfigError, silentLogger } from '@logistics/shared'
import { SignJWT } from 'jose'
import { createApp } from '../src/app'
import { loadConfig } from '../src/config'
import { passwordWeakness } from '../src/modules/auth/password-policy'
import { ensureAdmin } from '../src/modules/auth/service'
import { ADMIN, cheapHashing, createHarness, type Harness } from './helpers'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

describe('registration', () => {
  test('a customer registers; 201 with Location, email stored lowercased, no password in the answer', async () => {
    const r = await h.request('POST', '/users', {
      body: { email: '  Alice@Example.COM ', password: 'correct horse', name: 'Alice', shipping_address: '1 Road' },
    })
    expect(r.status).toBe(201)
    expect(r.headers.get('location')).toBe('/me')
    expect(r.body).toMatchObject({ email: 'alice@example.com', role: 'customer', seller_id: null, shipping_address: '1 Road' })
    expect(JSON.stringify(r.body)).not.toContain('password')
  })

  test('a taken email answers 409, whatever its case', async () => {
    const r = await h.request('POST', '/users', {
      body: { email: 'ALICE@example.com', password: 'another pass', name: 'Eve', shipping_address: '2 Road' },
    })
    expect(r.status).toBe(409)
    expect(r.headers.get('content-type')).toBe('application/problem+json')
    expect(r.body.code).toBe('email-taken')
  })

  test('an invalid email, a short password and a missing address answer 422 naming each field', async () => {
    const r = await h.request('POST', '/users', { body: { email: 'not-an-email', password: 'short', name: 'X' } })
    expect(r.status).toBe(422)
    const paths = r.body.errors.map((e: { path: string }) => e.path)
    expect(paths).toEqual(expect.arrayContaining(['email', 'password', 'shipping_address']))
  })

  test('a common password, or the email as password, answers 422 on the password field; nothing is stored', async () => {
    for (const [email, password] of [
      ['weak1@example.com', 'password1'],
      ['weak2@example.com', '12345678'],
      ['weak3@example.com', 'qwertyuiop'],
      ['weak4@example.com', 'Password123'],
      ['weak5@example.com', 'WEAK5@example.com'],
      ['weak6@example.com', 'weak6@example.com1'],
    ]) {
      const r = await h.request('POST', '/users', { body: { email, password, name: 'Weak', shipping_address: '1 Road' } })
      expect(r.status, password).toBe(422)
      expect(r.headers.get('content-type')).toBe('application/problem+json')
      expect(r.body.errors).toEqual([
        { path: 'password', message: expect.stringMatching(/password (is too common|must not be the email|is too close)/) },
      ])
      expect((await h.request('POST', '/auth/login', { body: { email, password } })).status).toBe(401)
    }
    // the weak password is reported together with the other bad fields
    const both = await h.request('POST', '/users', { body: { email: 'weak7@example.com', password: 'password1', name: 'W' } })
    expect(both.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['password', 'shipping_address'])
  })

  test('seller admins and seller users get the same password rule', async () => {
    const admin = await h.adminToken()
    const seller = await h.request('POST', '/sellers', {
      token: admin,
      body: { name: 'Weak Co', description: 'x', admins: [{ email: 'boss@weak.example', password: 'iloveyou1', name: 'Boss' }] },
    })
    expect(seller.status).toBe(422)
    expect(seller.body.errors).toEqual([{ path: 'admins.0.password', message: expect.stringContaining('too common') }])
    const ok = await h.request('POST', '/sellers', {
      token: admin,
      body: { name: 'Acme', description: 'x', admins: [{ email: 'boss@acme.example', password: 'acme-password-1', name: 'Boss' }] },
    })
    expect(ok.status).toBe(201)
    const user = await h.request('POST', `/sellers/${ok.body.id}/users`, {
      token: admin,
      body: { email: 'clerk@acme.example', password: 'clerk@acme.example', name: 'Clerk' },
    })
    expect(user.status).toBe(422)
    expect(user.body.errors).toEqual([{ path: 'password', message: 'password must not be the email address' }])
  })

  test('the passwords of the walkthrough and the demo data are accepted', () => {
    for (const password of [
      'acme-password-1',
      'blue-password-1',
      'clerk-password-1',
      'ada-password-1',
      'demo-password-123',
      'correct horse',
    ])
      expect(passwordWeakness(password, { email: 'someone@example.com' }), password).toBeUndefined()
  })

  test('malformed JSON answers 400', async () => {
    const r = await h.request('POST', '/users', { rawBody: '{"email":', headers: { 'content-type': 'application/json' } })
    expect(r.status).toBe(400)
  })
})

describe('login', () => {
  test('answers a bearer token and the user', async () => {
    const r = await h.request('POST', '/auth/login', { body: { email: 'alice@EXAMPLE.com', password: 'correct horse' } })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      user: { email: 'alice@example.com', role: 'customer', seller_id: null },
    })
    expect(typeof r.body.access_token).toBe('string')
  })

  test('an unknown email and a wrong password answer the same 401', async () => {
    const wrong = await h.request('POST', '/auth/login', { body: { email: 'alice@example.com', password: 'wrong password' } })
    const unknown = await h.request('POST', '/auth/login', { body: { email: 'nobody@example.com', password: 'wrong password' } })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    const strip = (b: any) => ({ ...b, instance: undefined })
    expect(strip(wrong.body)).toEqual(strip(unknown.body))
  })

  test('the bootstrapped admin logs in with role admin', async () => {
    const r = await h.request('POST', '/auth/login', { body: ADMIN })
    expect(r.status).toBe(200)
    expect(r.body.user.role).toBe('admin')
  })

  test('bootstrapping the admin again is a no-op', async () => {
    const again = await ensureAdmin(h.db, 'ADMIN@example.com', 'another-password', cheapHashing)
    expect(again.created).toBe(false)
    expect((await h.request('POST', '/auth/login', { body: ADMIN })).status).toBe(200)
  })
})

describe('GET /me and tokens', () => {
  test('answers the own profile', async () => {
    const token = await h.login('alice@example.com', 'correct horse')
    const r = await h.request('GET', '/me', { token })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ email: 'alice@example.com', name: 'Alice', role: 'customer' })
  })

  test('no token, a garbage token and a token signed with another secret answer 401', async () => {
    expect((await h.request('GET', '/me')).status).toBe(401)
    expect((await h.request('GET', '/me', { token: 'garbage' })).status).toBe(401)
    const forged = await new SignJWT({ sub: crypto.randomUUID(), role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret-of-enough-length'))
    const r = await h.request('GET', '/me', { token: forged })
    expect(r.status).toBe(401)
    expect(r.headers.get('www-authenticate')).toBe('Bearer')
  })

  test('an expired token answers 401', async () => {
    const login = await h.request('POST', '/auth/login', { body: { email: 'alice@example.com', password: 'correct horse' } })
    const expired = await new SignJWT({ sub: login.body.user.id, role: 'customer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(h.config.JWT_SECRET))
    expect((await h.request('GET', '/me', { token: expired })).status).toBe(401)
  })

  test('a token without an expiry answers 401, even signed with the right secret', async () => {
    const login = await h.request('POST', '/auth/login', { body: { email: 'alice@example.com', password: 'correct horse' } })
    const forever = await new SignJWT({ sub: login.body.user.id, role: 'customer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .sign(new TextEncoder().encode(h.config.JWT_SECRET))
    expect((await h.request('GET', '/me', { token: forever })).status).toBe(401)
    expect((await h.request('GET', '/me', { token: login.body.access_token })).status).toBe(200)
  })
})

/** A production environment every check accepts. */
const prodEnv = () => ({
  NODE_ENV: 'production',
  DELIVERY_API_KEY: 'k-real-0123456789-abcdefgh',
  WEBHOOK_SECRET: `whsec_${Buffer.from('a real secret of 32 bytes!!!!!!!').toString('base64')}`,
  JWT_SECRET: 'a-real-jwt-secret-0123456789-abcdef',
  ADMIN_EMAIL: 'ops@marketplace.example',
  ADMIN_PASSWORD: 'a real admin password',
})

describe('config', () => {
  test('NODE_ENV=production refuses the development secrets', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError)
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/)
    expect(loadConfig(prodEnv()).PORT).toBe(3000)
    // the development administrator's email too: unset (the default) or given, not one that merely contains it
    const { ADMIN_EMAIL: _, ...noEmail } = prodEnv()
    expect(() => loadConfig(noEmail)).toThrow(/NODE_ENV=production refuses development defaults; set ADMIN_EMAIL to real values/)
    expect(() => loadConfig({ ...prodEnv(), ADMIN_EMAIL: 'Admin@Example.com' })).toThrow(/set ADMIN_EMAIL/)
    expect(loadConfig({ ...prodEnv(), ADMIN_EMAIL: 'superadmin@example.com' }).ADMIN_EMAIL).toBe('superadmin@example.com')
    expect(loadConfig({ ADMIN_EMAIL: undefined }).ADMIN_EMAIL).toBe('admin@example.com') // development keeps it
  })

  test('NODE_ENV is compared case-insensitively; weak secrets are refused in production, saying what is needed', () => {
    const { NODE_ENV: _, ...strong } = prodEnv()
    expect(() => loadConfig({ NODE_ENV: 'Production' })).toThrow(/JWT_SECRET/)
    expect(() => loadConfig({ NODE_ENV: ' PRODUCTION ' })).toThrow(/JWT_SECRET/)
    expect(loadConfig({ NODE_ENV: 'Production', ...strong }).PORT).toBe(3000)
    expect(() => loadConfig({ NODE_ENV: 'Production', ...strong, JWT_SECRET: 'aaaaaaaaaaaaaaaa' })).toThrow(
      /JWT_SECRET: too weak for production: needs at least 32 characters/,
    )
    expect(() => loadConfig({ NODE_ENV: 'production', ...strong, DELIVERY_API_KEY: 'x' })).toThrow(/DELIVERY_API_KEY: too weak/)
    // METRICS_TOKEN: optional, but when set in production it must be strong too
    expect(() => loadConfig({ NODE_ENV: 'production', ...strong, METRICS_TOKEN: 'aaaaaaaaaaaaaaaa' })).toThrow(/METRICS_TOKEN: too weak/)
    expect(loadConfig({ NODE_ENV: 'production', ...strong, METRICS_TOKEN: 'scrape-0123456789-abcdefghij' }).METRICS_TOKEN).toBeDefined()
    // the service URLs are http(s), nothing else
    for (const bad of ['file:///etc/passwd', 'javascript:alert(1)', 'ftp://delivery:21'])
      expect(() => loadConfig({ ...strong, DELIVERY_API_URL: bad })).toThrow(/DELIVERY_API_URL/)
    expect(() => loadConfig({ ...strong, PUBLIC_URL: 'file:///etc' })).toThrow(/PUBLIC_URL/)
    expect(() => loadConfig({ NODE_ENV: 'production', ...strong, ADMIN_PASSWORD: 'Admin-123' })).toThrow(/ADMIN_PASSWORD: too weak/)
    // a long but common password, or the email itself, is refused always (development too)
    expect(() => loadConfig({ ADMIN_PASSWORD: 'password123456' })).toThrow(/ADMIN_PASSWORD: is too common/)
    expect(() => loadConfig({ ADMIN_EMAIL: 'boss@example.com', ADMIN_PASSWORD: 'BOSS@example.com' })).toThrow(
      /ADMIN_PASSWORD: must not be the email/,
    )
  })

  test('defaults', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({
      PORT: 3000,
      DELIVERY_API_URL: 'http://localhost:3001',
      PUBLIC_URL: 'http://localhost:3000',
      ADMIN_EMAIL: 'admin@example.com',
    })
    expect(c.WEBHOOK_SECRET.startsWith('whsec_')).toBe(true)
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT/)
  })
})

test('health and the OpenAPI document', async () => {
  expect((await h.request('GET', '/health')).body).toEqual({ status: 'ok' })
  const doc = await h.request('GET', '/swagger/json')
  expect(doc.status).toBe(200)
  expect(Object.keys(doc.body.paths)).toEqual(
    expect.arrayContaining([
      '/auth/login',
      '/users',
      '/me',
      '/sellers',
      '/products',
      '/purchases',
      '/orders/{id}/dispatch',
      '/webhooks/delivery',
    ]),
  )
  expect((await h.request('GET', '/swagger')).status).toBe(200)
})

test('health answers 503 when the database does not answer', async () => {
  const broken = { execute: () => Promise.reject(new Error('connection refused')) } as never
  const app = createApp({ db: broken, config: h.config, logger: silentLogger })
  const r = await app.handle(new Request('http://localhost/health'))
  expect(r.status).toBe(503)
  expect(r.headers.get('content-type')).toContain('application/problem+json')
  expect(await r.json()).toMatchObject({ status: 503, code: 'database-unavailable' })
})

test('bodies over 1 MB answer 413', async () => {
  const r = await h.request('POST', '/users', {
    rawBody: 'x'.repeat(1024 * 1024 + 1),
    headers: { 'content-type': 'application/json', 'content-length': String(1024 * 1024 + 1) },
  })
  expect(r.status).toBe(413)
})
