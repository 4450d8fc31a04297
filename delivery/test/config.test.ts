import { describe, expect, test } from 'bun:test'
import { loadConfig, parseApiKeys } from '../src/config'

describe('delivery configuration', () => {
  test('defaults follow the contract: port 3001, a 30 s tick, the development key', () => {
    const config = loadConfig({})
    expect(config.PORT).toBe(3001)
    expect(config.STATUS_TICK_SECONDS).toBe(30)
    expect(parseApiKeys(config.DELIVERY_API_KEYS)).toEqual([['ecommerce', 'dev-delivery-key-change-me']])
  })

  test('reads name:key pairs and refuses malformed ones with a message naming the variable', () => {
    expect(parseApiKeys(loadConfig({ DELIVERY_API_KEYS: 'shop:k1,erp:k2' }).DELIVERY_API_KEYS)).toEqual([
      ['shop', 'k1'],
      ['erp', 'k2'],
    ])
    expect(() => loadConfig({ DELIVERY_API_KEYS: 'no-colon' })).toThrow(/DELIVERY_API_KEYS/)
    expect(() => loadConfig({ STATUS_TICK_SECONDS: '0' })).toThrow(/STATUS_TICK_SECONDS/)
    expect(() => loadConfig({ PORT: 'http' })).toThrow(/PORT/)
    expect(() => loadConfig({ WEBHOOK_LEASE_SECONDS: '5', WEBHOOK_TIMEOUT_SECONDS: '10' })).toThrow(/WEBHOOK_LEASE_SECONDS/)
  })

  test('PUBLIC_URL (the base of tracking_url): http://localhost:<PORT> by default, an http(s) URL without a trailing slash', () => {
    expect(loadConfig({}).PUBLIC_URL).toBe('http://localhost:3001')
    expect(loadConfig({ PORT: '3401' }).PUBLIC_URL).toBe('http://localhost:3401')
    expect(loadConfig({ PUBLIC_URL: 'https://parcels.example.test/' }).PUBLIC_URL).toBe('https://parcels.example.test')
    expect(loadConfig({ PUBLIC_URL: ' https://example.test/parcels// ' }).PUBLIC_URL).toBe('https://example.test/parcels')
    for (const bad of [
      '',
      'parcels.example.test',
      'file:///etc/passwd',
      'ftp://example.test',
      'https://example.test/?a=1',
      'https://example.test/#x',
      'https://user:pw@example.test',
    ])
      expect(() => loadConfig({ PUBLIC_URL: bad }), bad).toThrow(/PUBLIC_URL/)
  })

  test('TRUST_PROXY_HOPS: 0 by default, a whole number of proxies', () => {
    expect(loadConfig({}).TRUST_PROXY_HOPS).toBe(0)
    expect(loadConfig({ TRUST_PROXY_HOPS: '2' }).TRUST_PROXY_HOPS).toBe(2)
    for (const bad of ['-1', 'one', '1.5', '100']) expect(() => loadConfig({ TRUST_PROXY_HOPS: bad }), bad).toThrow(/TRUST_PROXY_HOPS/)
  })

  test('WEBHOOK_SUBSCRIPTIONS_PER_CLIENT (default 10) and WEBHOOK_RETENTION_DAYS (default 30): whole numbers, a bad one refused by name', () => {
    expect(loadConfig({})).toMatchObject({ WEBHOOK_SUBSCRIPTIONS_PER_CLIENT: 10, WEBHOOK_RETENTION_DAYS: 30 })
    expect(loadConfig({ WEBHOOK_SUBSCRIPTIONS_PER_CLIENT: '25', WEBHOOK_RETENTION_DAYS: '7' })).toMatchObject({
      WEBHOOK_SUBSCRIPTIONS_PER_CLIENT: 25,
      WEBHOOK_RETENTION_DAYS: 7,
    })
    for (const bad of ['0', '-1', '2.5', 'ten', '1001'])
      expect(() => loadConfig({ WEBHOOK_SUBSCRIPTIONS_PER_CLIENT: bad }), bad).toThrow(/WEBHOOK_SUBSCRIPTIONS_PER_CLIENT/)
    for (const bad of ['0', '1.5', 'a month', '3651'])
      expect(() => loadConfig({ WEBHOOK_RETENTION_DAYS: bad }), bad).toThrow(/WEBHOOK_RETENTION_DAYS/)
  })

  test('WEBHOOK_ALLOWED_HOSTS: host names, IPs and CIDR ranges; a bad entry is refused by name', () => {
    expect(loadConfig({}).WEBHOOK_ALLOWED_HOSTS).toEqual({ names: [], ranges: [], invalid: [] })
    const allowed = loadConfig({
      WEBHOOK_ALLOWED_HOSTS: ' ecommerce, Hooks.Internal.Example., 10.1.2.3, 172.16.0.0/12, fd00::/8, ::1 ',
    }).WEBHOOK_ALLOWED_HOSTS
    expect(allowed.names).toEqual(['ecommerce', 'hooks.internal.example'])
    expect(allowed.ranges.map(([ip, bits]) => `${ip.toString()}/${bits}`)).toEqual(['10.1.2.3/32', '172.16.0.0/12', 'fd00::/8', '::1/128'])
    for (const bad of ['10.0.0.0/33', 'http://ecommerce', 'ecommerce:3000', '*.example.com', '127.1', '0x7f000001', 'two words', 'a..b'])
      expect(() => loadConfig({ WEBHOOK_ALLOWED_HOSTS: `ecommerce,${bad}` }), bad).toThrow(
        new RegExp(`WEBHOOK_ALLOWED_HOSTS: .*${bad.replace(/[.*/]/g, '\\$&')}`),
      )
  })

  test('the service process exits 1 naming a bad WEBHOOK_ALLOWED_HOSTS entry', async () => {
    const child = Bun.spawn(['bun', `${import.meta.dir}/../src/index.ts`], {
      env: { ...process.env, DATABASE_URL: 'memory://', PORT: '0', WEBHOOK_ALLOWED_HOSTS: 'ecommerce,10.0.0.0/40' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    expect(await child.exited).toBe(1)
    const stderr = await new Response(child.stderr).text()
    expect(stderr).toContain('WEBHOOK_ALLOWED_HOSTS')
    expect(stderr).toContain('10.0.0.0/40')
  })

  test('NODE_ENV=production refuses the development key, and a missing one', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DELIVERY_API_KEYS/)
    expect(() => loadConfig({ NODE_ENV: 'production', DELIVERY_API_KEYS: 'ecommerce:dev-delivery-key-change-me' })).toThrow(/production/)
    expect(loadConfig({ NODE_ENV: 'production', DELIVERY_API_KEYS: 'ecommerce:8f2c1e0b9a7d-4b1e-9f3a-a1b2c3' }).DELIVERY_API_KEYS).toBe(
      'ecommerce:8f2c1e0b9a7d-4b1e-9f3a-a1b2c3',
    )
  })

  test('NODE_ENV is compared case-insensitively, and weak keys are refused in production with what they need', () => {
    expect(() => loadConfig({ NODE_ENV: 'Production' })).toThrow(/DELIVERY_API_KEYS/)
    expect(() => loadConfig({ NODE_ENV: 'PRODUCTION', DELIVERY_API_KEYS: 'ecommerce:dev-delivery-key-change-me' })).toThrow(/production/)
    expect(() => loadConfig({ NODE_ENV: 'production', DELIVERY_API_KEYS: 'ecommerce:x' })).toThrow(
      /DELIVERY_API_KEYS: too weak for production: needs at least 24 characters/,
    )
    expect(() => loadConfig({ NODE_ENV: 'production', DELIVERY_API_KEYS: 'ecommerce:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' })).toThrow(
      /different ones/,
    )
    // every key of the list counts, not only the first
    expect(() => loadConfig({ NODE_ENV: 'production', DELIVERY_API_KEYS: 'ecommerce:8f2c1e0b9a7d-4b1e-9f3a-a1b2c3,erp:k2' })).toThrow(
      /DELIVERY_API_KEYS/,
    )
    // development keeps accepting short keys
    expect(loadConfig({ DELIVERY_API_KEYS: 'shop:k1' }).DELIVERY_API_KEYS).toBe('shop:k1')
  })

  test('WEBHOOK_ALLOWED_HOSTS refuses a /0 range (it would switch the SSRF protection off); a weak METRICS_TOKEN is refused in production', () => {
    for (const all of ['0.0.0.0/0', '::/0', 'ecommerce, 0.0.0.0/0'])
      expect(() => loadConfig({ WEBHOOK_ALLOWED_HOSTS: all })).toThrow(/WEBHOOK_ALLOWED_HOSTS.*\/0 range allows every address/s)
    expect(loadConfig({ WEBHOOK_ALLOWED_HOSTS: '10.0.0.0/8' }).WEBHOOK_ALLOWED_HOSTS.ranges).toHaveLength(1)
    const prod = { NODE_ENV: 'production', DELIVERY_API_KEYS: 'ecommerce:prod-delivery-key-0123456789-abc' }
    expect(loadConfig(prod).METRICS_TOKEN).toBeUndefined()
    expect(() => loadConfig({ ...prod, METRICS_TOKEN: 'aaaaaaaaaaaaaaaa' })).toThrow(/METRICS_TOKEN: too weak/)
  })

  test('a client named twice, or one key for two clients, is refused', () => {
    expect(() => loadConfig({ DELIVERY_API_KEYS: 'shop:k1,shop:k2' })).toThrow(/shop more than once/)
    expect(() => loadConfig({ DELIVERY_API_KEYS: 'shop:k1,erp:k1' })).toThrow(/same key/)
  })

  test('the service process refuses to start in production with the development key', async () => {
    const child = Bun.spawn(['bun', `${import.meta.dir}/../src/index.ts`], {
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: 'memory://', DELIVERY_API_KEYS: '', PORT: '0' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const code = await child.exited
    const stderr = await new Response(child.stderr).text()
    expect(code).not.toBe(0)
    expect(stderr).toContain('DELIVERY_API_KEYS')
  })
})
